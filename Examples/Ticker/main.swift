print("Ticker: being written")
