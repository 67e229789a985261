// Progressive enhancement for the console: countdowns tick every minute. The
// server already rendered them; without JavaScript they are simply static.
(function () {
  "use strict";
  function phrase(secs, zh) {
    var abs = Math.abs(secs), d = Math.floor(abs / 86400), h = Math.floor((abs % 86400) / 3600);
    if (zh) return secs >= 0 ? "剩余 " + d + " 天 " + h + " 小时" : "已逾期 " + d + " 天 " + h + " 小时";
    return secs >= 0 ? d + " d " + h + " h left" : "overdue by " + d + " d " + h + " h";
  }
  function tick() {
    var now = Math.floor(Date.now() / 1000);
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = parseInt(el.getAttribute("data-due"), 10);
      if (!isNaN(due)) el.textContent = phrase(due - now, el.getAttribute("data-lang") === "zh-CN");
    });
  }
  tick();
  setInterval(tick, 60000);
})();
