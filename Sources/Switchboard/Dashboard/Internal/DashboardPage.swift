/// The dashboard's page: loads the last minutes (`history`), then follows
/// the samples on its WebSocket (`live`), both with the page's own query
/// (where an operator's key may be), and draws them on canvases: no
/// library, nothing fetched from elsewhere. `window.dashboard` holds the
/// samples, for tests.
enum DashboardPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Switchboard dashboard</title>
    <style>
      body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
      h1 { font-size: 18px; margin: 0 0 8px; }
      #state { color: #666; margin-bottom: 12px; }
      .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
      .card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; }
      .card h2 { font-size: 14px; margin: 0 0 4px; }
      .now { font-size: 22px; font-weight: 600; }
      .legend span { margin-right: 12px; }
      canvas { width: 100%; height: 120px; }
      table { border-collapse: collapse; width: 100%; }
      td { padding: 2px 4px; border-bottom: 1px solid #eee; }
      td.n { text-align: right; font-variant-numeric: tabular-nums; }
    </style>
    </head>
    <body>
    <h1>Switchboard</h1>
    <div id="state">connecting…</div>
    <div class="grid">
      <div class="card"><h2>WebSockets open</h2><div class="now" id="connections-now">–</div><canvas id="connections"></canvas></div>
      <div class="card"><h2>Messages per second</h2><div class="legend" id="messages-legend"></div><canvas id="messages"></canvas></div>
      <div class="card"><h2>Slow-consumer drops per second, queued bytes</h2><div class="legend" id="pressure-legend"></div><canvas id="pressure"></canvas></div>
      <div class="card"><h2>Load per loop (messages per second)</h2><div class="legend" id="loops-legend"></div><canvas id="loops"></canvas></div>
      <div class="card"><h2>Busiest topics (subscribers)</h2><table id="topics"></table><div id="topic-count"></div></div>
    </div>
    <script>
    (() => {
      const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"];
      const keep = 300;
      const dashboard = window.dashboard = { samples: [], live: false };
      const base = location.pathname.replace(/\/$/, "");
      const query = location.search;
      const format = (n) => n >= 1e9 ? (n / 1e9).toFixed(1) + "G" : n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e3 ? (n / 1e3).toFixed(1) + "k" : String(Math.round(n * 10) / 10);

      function draw(id, series) {
        const canvas = document.getElementById(id);
        const width = canvas.width = canvas.clientWidth * devicePixelRatio;
        const height = canvas.height = canvas.clientHeight * devicePixelRatio;
        const context = canvas.getContext("2d");
        context.clearRect(0, 0, width, height);
        const max = Math.max(1, ...series.flatMap((s) => s.values));
        context.fillStyle = "#888";
        context.font = `${11 * devicePixelRatio}px system-ui`;
        context.fillText(format(max), 2, 12 * devicePixelRatio);
        series.forEach((s, index) => {
          context.strokeStyle = s.color || colors[index % colors.length];
          context.lineWidth = 1.5 * devicePixelRatio;
          context.beginPath();
          s.values.forEach((value, i) => {
            const x = s.values.length < 2 ? width : (i / (keep - 1)) * width + (keep - s.values.length) / (keep - 1) * width;
            const y = height - (value / max) * (height - 16 * devicePixelRatio);
            i === 0 ? context.moveTo(x, y) : context.lineTo(x, y);
          });
          context.stroke();
        });
      }

      function legend(id, entries) {
        document.getElementById(id).innerHTML = entries.map(([name, value], i) =>
          `<span style="color:${colors[i % colors.length]}">${name} ${format(value)}</span>`).join("");
      }

      function render() {
        const samples = dashboard.samples;
        const last = samples[samples.length - 1];
        if (!last) return;
        const series = (key) => samples.map((s) => s[key]);
        document.getElementById("connections-now").textContent = format(last.connections);
        draw("connections", [{ values: series("connections") }]);
        const kinds = [["received", "in"], ["sent", "out"], ["deliveries", "deliveries"], ["publishes", "publishes"]];
        draw("messages", kinds.map(([key]) => ({ values: series(key) })));
        legend("messages-legend", kinds.map(([key, name]) => [name, last[key]]));
        draw("pressure", [{ values: series("drops") }, { values: samples.map((s) => s.queuedBytes / 1024) }]);
        legend("pressure-legend", [["drops/s", last.drops], ["queued KiB", last.queuedBytes / 1024]]);
        const loops = last.loops.map((_, index) => ({ values: samples.map((s) => (s.loops[index] || {}).messages || 0) }));
        draw("loops", loops);
        legend("loops-legend", last.loops.map((loop, index) => [`loop ${index} (${loop.connections} open)`, loop.messages]));
        const rows = last.topics.map((t) => `<tr><td></td><td class="n">${t.subscribers}</td></tr>`);
        const table = document.getElementById("topics");
        table.innerHTML = rows.join("");
        last.topics.forEach((t, i) => { table.rows[i].cells[0].textContent = t.topic; });
        document.getElementById("topic-count").textContent = `${last.topicCount} topics in all`;
      }

      function add(sample) {
        dashboard.samples.push(sample);
        if (dashboard.samples.length > keep) dashboard.samples.shift();
        render();
      }

      function follow(attempt) {
        const scheme = location.protocol === "https:" ? "wss:" : "ws:";
        const socket = new WebSocket(`${scheme}//${location.host}${base}/live${query}`);
        socket.onopen = () => { dashboard.live = true; document.getElementById("state").textContent = "live"; attempt = 0; };
        socket.onmessage = (event) => add(JSON.parse(event.data));
        socket.onclose = () => {
          dashboard.live = false;
          document.getElementById("state").textContent = "reconnecting…";
          setTimeout(() => follow(attempt + 1), Math.random() * Math.min(30000, 1000 * 2 ** attempt));
        };
      }

      fetch(`${base}/history${query}`).then((response) => response.json()).then((history) => {
        history.forEach((sample) => dashboard.samples.push(sample));
        render();
      }).finally(() => follow(0));
    })();
    </script>
    </body>
    </html>
    """#
}
