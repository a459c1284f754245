print("ChatRoom: being written")
