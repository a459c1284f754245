/// The whole front end: one page, no assets. It loads the hosted client
/// (`/switchboard.js`), subscribes to `ticks.SYMBOL` for every symbol
/// picked, and draws each as a line on a <canvas>.
let page = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ticker · Switchboard</title>
<style>
  body { font: 15px system-ui, sans-serif; color: #1d2330; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  header { display: flex; justify-content: space-between; align-items: baseline; }
  #state { font-size: .85rem; color: #888; }
  #state.open { color: #1a7f37; }
  label { margin-right: 1.2rem; cursor: pointer; }
  #news { color: #555; min-height: 1.4em; }
  section { border: 1px solid #dde; border-radius: 6px; padding: .5rem .75rem; margin: .75rem 0; }
  h2 { font-size: 1rem; margin: 0 0 .3rem; display: flex; justify-content: space-between; }
  .price { font-variant-numeric: tabular-nums; }
  .up { color: #1a7f37; } .down { color: #c62828; }
  canvas { width: 100%; height: 120px; display: block; }
</style>
</head>
<body>
<header><h1>Ticker</h1><span id="state">connecting</span></header>
<p id="picker"></p>
<p id="news"></p>
<div id="charts"></div>
<script src="/switchboard.js"></script>
<script>
  const symbols = [\#(symbols.map { "\"\($0.name)\"" }.joined(separator: ", "))];
  const picked = ["AAPL", "MSFT"];   // shown at first
  const keep = 120;                  // points per chart: 30 s at 4 ticks a second

  const client = new Switchboard.Client("/prices");
  const state = document.getElementById("state");
  client.on("state", (s) => { state.textContent = s; state.className = s; });
  // Missed more than the server keeps (a long sleep): the charts go on from now.
  client.on("unrecovered", ({ topic, reason }) => console.log("gap in", topic, reason));
  client.subscribe("events.news", (event) => {
    document.getElementById("news").textContent = "📰 " + (event.headline ?? JSON.stringify(event));
  });

  const charts = new Map();   // symbol → { section, unsubscribe }

  function show(symbol) {
    const section = document.createElement("section");
    section.innerHTML = `<h2><span>${symbol}</span><span class="price" id="price-${symbol}"></span></h2><canvas></canvas>`;
    document.getElementById("charts").append(section);
    const price = section.querySelector(".price"), canvas = section.querySelector("canvas");
    const points = [];
    const chart = { section, unsubscribe: () => {} };
    charts.set(symbol, chart);
    const add = (tick) => {
      price.className = "price " + (tick.price >= (points.at(-1) ?? tick.price) ? "up" : "down");
      price.textContent = tick.price.toFixed(2);
      points.push(tick.price);
      if (points.length > keep) points.shift();
      draw(canvas, points);
    };
    // The last 30 s from the server's history, then live from where they end.
    fetch("/history?topic=ticks." + symbol + "&limit=" + keep).then((r) => r.json()).then((history) => {
      if (charts.get(symbol) !== chart) return;   // hidden meanwhile
      for (const { data } of history.messages) add(data);
      chart.unsubscribe = client.subscribe("ticks." + symbol, add, { since: { epoch: history.epoch, offset: history.offset } });
    }, () => { chart.unsubscribe = client.subscribe("ticks." + symbol, add); });
  }

  function hide(symbol) {
    const { section, unsubscribe } = charts.get(symbol);
    unsubscribe();
    section.remove();
    charts.delete(symbol);
  }

  function draw(canvas, points) {
    const width = canvas.clientWidth, height = canvas.clientHeight, scale = devicePixelRatio || 1;
    canvas.width = width * scale;
    canvas.height = height * scale;
    const g = canvas.getContext("2d");
    g.scale(scale, scale);
    const low = Math.min(...points), high = Math.max(...points), range = high - low || 1;
    const x = (i) => width - (points.length - 1 - i) * width / (keep - 1);
    const y = (p) => 8 + (high - p) / range * (height - 16);
    g.beginPath();
    points.forEach((p, i) => i === 0 ? g.moveTo(x(i), y(p)) : g.lineTo(x(i), y(p)));
    g.strokeStyle = points.at(-1) >= points[0] ? "#1a7f37" : "#c62828";
    g.lineWidth = 1.5;
    g.stroke();
    g.fillStyle = "#999";
    g.font = "11px system-ui, sans-serif";
    g.fillText(high.toFixed(2), 2, 10);
    g.fillText(low.toFixed(2), 2, height - 2);
  }

  for (const symbol of symbols) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${symbol}"> ${symbol}`;
    const box = label.querySelector("input");
    box.checked = picked.includes(symbol);
    box.addEventListener("change", () => box.checked ? show(symbol) : hide(symbol));
    document.getElementById("picker").append(label);
    if (box.checked) show(symbol);
  }
</script>
</body>
</html>
"""#
