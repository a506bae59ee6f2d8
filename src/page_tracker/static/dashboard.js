// Live figures on a site's dashboard: Server-Sent Events, or polling where they fail.  And a
// Copy button beside every snippet, token and key: without JavaScript, they are selected by hand.
"use strict";
(function () {
  document.querySelectorAll("pre > code").forEach(function (code) {
    if (!navigator.clipboard) return;  // only over HTTPS or on localhost
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent).then(function () {
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Select it and copy by hand";
      });
    });
    code.parentNode.insertAdjacentElement("afterend", button);
  });
})();
(function () {
  var tiles = document.querySelector("[data-live]");
  if (!tiles) return;
  var status = document.querySelector("[data-status]");
  var polling = null;

  function show(text) {
    if (status) status.textContent = text;
  }

  function refresh() {
    return fetch(tiles.getAttribute("data-figures"), { credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) throw new Error(answer.status);
        return answer.json();
      })
      .then(function (figures) {
        var values = {
          views: figures.totals.views, visitors: figures.totals.visitors,
          bots: figures.totals.bots, now: figures.now
        };
        Object.keys(values).forEach(function (name) {
          var element = tiles.querySelector('[data-figure="' + name + '"]');
          if (element) element.textContent = String(values[name]);
        });
      })
      .catch(function () { show("Could not refresh; will try again."); });
  }

  function poll() {
    if (polling) return;
    show("Refreshing every 10 seconds.");
    polling = setInterval(refresh, 10000);
  }

  if (!window.EventSource) {
    poll();
    return;
  }
  var source = new EventSource(tiles.getAttribute("data-live"));
  source.addEventListener("ready", function () {
    // A live stream: polling, if it had started, is no longer needed.
    clearInterval(polling);
    polling = null;
    show("Live: figures update as views arrive.");
  });
  source.addEventListener("views", refresh);
  // The server holds few streams at once: when busy it says so, and the browser asks again
  // later by itself. Poll meanwhile.
  source.addEventListener("busy", poll);
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) poll();
  });
  addEventListener("pagehide", function () { source.close(); });
})();
