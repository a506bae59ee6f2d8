/* page-tracker: one cookie-free beacon per page view. <script defer src=".../script.js" data-site="NAME"></script> */
(function () {
  "use strict";
  var tag = document.currentScript, site = tag && tag.getAttribute("data-site");
  if (!site) return;
  var api = tag.getAttribute("data-api") || new URL(tag.src).origin + "/api/event";
  var nav = navigator, last = null;
  function send() {
    var url = location.href;
    if (url === last) return;
    var body = JSON.stringify({
      site: site, url: url, referrer: last || document.referrer, width: innerWidth,
      dnt: nav.doNotTrack === "1" || nav.globalPrivacyControl === true
    });
    last = url;
    if (!(nav.sendBeacon && nav.sendBeacon(api, body))) {
      fetch(api, { method: "POST", body: body, keepalive: true, credentials: "omit" })
        .catch(function () {});
    }
  }
  // Single-page apps change the address without loading a page: count those changes too.
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      send();
      return result;
    };
  });
  addEventListener("popstate", send);
  send();
})();
