/*! troth consent banner. Plain JavaScript, no framework.
 *
 * Embed on your site:
 *   <script src="https://TROTH-HOST/banner.js" data-troth-tenant="TENANT-ID" defer></script>
 * Mark scripts that need consent so they do not run before it:
 *   <script type="text/plain" data-troth-purpose="analytics" src="https://…/analytics.js"></script>
 *
 * The banner shows the purposes of the policy in force, honours Global Privacy
 * Control and Do Not Track (tracking and advertising purposes are refused and the
 * banner says so), records every decision with the policy version it showed, keeps
 * the decision in this browser and loads the marked scripts only once their
 * purposes have consent. "Refuse all" is exactly as prominent as "Accept all".
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var tenant = script.getAttribute("data-troth-tenant");
  if (!tenant) return;
  var origin = new URL(script.src, location.href).origin;
  var base = origin + "/t/" + encodeURIComponent(tenant);
  var storeKey = "troth-consent:" + tenant;
  var lang = (script.getAttribute("data-troth-lang") || document.documentElement.lang || navigator.language || "en")
    .toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var gpc = navigator.globalPrivacyControl === true;
  var dnt = navigator.doNotTrack === "1" || window.doNotTrack === "1";
  var signal = gpc || dnt;

  var T = {
    en: {
      title: "Your privacy choices",
      intro: "We use your information for the purposes below. Optional ones need your consent; you can change your mind at any time.",
      policy: "Read the privacy policy",
      accept: "Accept all", refuse: "Refuse all", save: "Save my choices",
      always: "Always active", honoured: "Refused: your browser's privacy signal (Global Privacy Control / Do Not Track) is honoured.",
      reopen: "Privacy choices", failed: "Your choice could not be saved. Please try again."
    },
    zh: {
      title: "您的隐私选择",
      intro: "我们会将您的信息用于以下目的。可选目的需要您的同意，您可以随时更改选择。",
      policy: "阅读隐私政策",
      accept: "全部同意", refuse: "全部拒绝", save: "保存我的选择",
      always: "始终启用", honoured: "已拒绝：已遵从您浏览器发出的隐私信号（全局隐私控制 / 请勿追踪）。",
      reopen: "隐私选择", failed: "未能保存您的选择，请重试。"
    }
  }[lang];

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { return null; }
  }
  function save(v) {
    try { localStorage.setItem(storeKey, JSON.stringify(v)); } catch (e) { /* private mode: not remembered */ }
  }
  function secret() {
    var b = new Uint8Array(32);
    crypto.getRandomValues(b);
    var s = "";
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function css(el, rules) { for (var k in rules) el.style[k] = rules[k]; return el; }
  function make(tag, rules, text) {
    var el = document.createElement(tag);
    if (rules) css(el, rules);
    if (text != null) el.textContent = text;
    return el;
  }

  var state = load() || {};
  if (!state.browser) { state.browser = secret(); state.choices = {}; save(state); }

  // Runs the marked scripts whose purposes (space-separated) all have consent.
  function activate() {
    var blocked = document.querySelectorAll('script[type="text/plain"][data-troth-purpose]');
    for (var i = 0; i < blocked.length; i++) {
      var old = blocked[i];
      if (old.hasAttribute("data-troth-loaded")) continue;
      var needed = old.getAttribute("data-troth-purpose").split(/\s+/);
      var ok = needed.every(function (p) { return state.choices && state.choices[p] === "given"; });
      if (!ok) continue;
      var s = document.createElement("script");
      for (var j = 0; j < old.attributes.length; j++) {
        var a = old.attributes[j];
        if (a.name !== "type") s.setAttribute(a.name, a.value);
      }
      if (!old.src) s.text = old.text;
      old.setAttribute("data-troth-loaded", "");
      old.parentNode.insertBefore(s, old.nextSibling);
    }
  }

  var root = null;
  function close() { if (root) { root.remove(); root = null; } reopenButton(); }

  function reopenButton() {
    if (document.getElementById("troth-reopen")) return;
    var b = make("button", {
      position: "fixed", left: "12px", bottom: "12px", zIndex: "2147483000", font: "13px system-ui, sans-serif",
      padding: "6px 12px", borderRadius: "999px", border: "1px solid #8a93a6", background: "#fff", color: "#1c2230", cursor: "pointer"
    }, T.reopen);
    b.id = "troth-reopen";
    b.type = "button";
    b.addEventListener("click", function () { b.remove(); show(window.troth.config); });
    document.body.appendChild(b);
  }

  function send(config, decisions, status) {
    var choices = [];
    config.purposes.forEach(function (p) {
      if (!p.optional) return;
      var want = decisions[p.id] ? "given" : "refused";
      // Taking back consent given earlier is a withdrawal, not a refusal.
      if (want === "refused" && state.choices && state.choices[p.id] === "given") want = "withdrawn";
      choices.push({ purpose: p.id, status: want });
    });
    if (!choices.length) { done(config, decisions); return; }
    var body = JSON.stringify({ browser: state.browser, version: config.version, gpc: gpc, dnt: dnt, choices: choices });
    // text/plain keeps this a simple cross-origin request (no preflight, no cookies).
    fetch(base + "/banner/consent", { method: "POST", body: body, headers: { "Content-Type": "text/plain" }, credentials: "omit", keepalive: true })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (res) { state.subject = res.subject; done(config, decisions); })
      .catch(function () { status.textContent = T.failed; });
  }

  function done(config, decisions) {
    state.version = config.version;
    state.choices = {};
    config.purposes.forEach(function (p) { if (p.optional) state.choices[p.id] = decisions[p.id] ? "given" : "refused"; });
    state.signal = signal;
    save(state);
    close();
    activate();
    document.dispatchEvent(new CustomEvent("troth:consent", { detail: { choices: state.choices, version: state.version } }));
  }

  function show(config) {
    if (root) return;
    root = make("section", {
      position: "fixed", left: "0", right: "0", bottom: "0", zIndex: "2147483000", background: "#fff", color: "#1c2230",
      borderTop: "1px solid #d9dde5", boxShadow: "0 -6px 24px rgba(20,30,50,.15)", font: "15px/1.5 system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif",
      maxHeight: "85vh", display: "flex", flexDirection: "column"
    });
    root.id = "troth-banner";
    root.setAttribute("role", "region");
    root.setAttribute("aria-labelledby", "troth-title");
    var inner = make("div", { maxWidth: "60rem", width: "100%", margin: "0 auto", padding: "20px 24px", display: "flex", flexDirection: "column", minHeight: "0" });
    var h = make("h2", { margin: "0 0 6px", fontSize: "18px" }, T.title);
    h.id = "troth-title";
    var p = make("p", { margin: "0 0 12px" }, T.intro + " ");
    var a = make("a", { color: "#0b5cad" }, T.policy);
    a.href = origin + config.policy_url + "?lang=" + (lang === "zh" ? "zh-CN" : "en");
    p.appendChild(a);
    inner.appendChild(h);
    inner.appendChild(p);

    // The purposes scroll; the buttons below them always stay in view.
    var list = make("ul", { listStyle: "none", padding: "0 4px 0 0", margin: "0 0 14px", display: "grid", gap: "8px", overflowY: "auto", minHeight: "0", flex: "1 1 auto", maxHeight: "45vh" });
    var boxes = {};
    config.purposes.forEach(function (pu) {
      var li = make("li", { display: "flex", gap: "10px", alignItems: "flex-start", padding: "8px 10px", border: "1px solid #e4e8ef", borderRadius: "8px" });
      var id = "troth-p-" + pu.id;
      var name = lang === "zh" ? pu.name_zh : pu.name_en;
      var desc = lang === "zh" ? pu.description_zh : pu.description_en;
      var label = make("label", { flex: "1" });
      label.htmlFor = id;
      label.appendChild(make("strong", null, name));
      label.appendChild(make("span", { display: "block", fontSize: "13px", color: "#4a5468" }, desc));
      var box = make("input", { width: "20px", height: "20px", marginTop: "3px", accentColor: "#0b5cad" });
      box.type = "checkbox";
      box.id = id;
      box.setAttribute("data-purpose", pu.id);
      if (!pu.optional) {
        box.checked = true; box.disabled = true;
        label.appendChild(make("span", { display: "block", fontSize: "12px", color: "#1d6b3a" }, T.always));
      } else if (pu.tracking && signal) {
        box.checked = false; box.disabled = true;
        var note = make("span", { display: "block", fontSize: "12px", color: "#1d6b3a", fontWeight: "600" }, T.honoured);
        note.setAttribute("data-honoured", pu.id);
        label.appendChild(note);
      } else {
        box.checked = !!(state.choices && state.choices[pu.id] === "given");
        boxes[pu.id] = box;
      }
      li.appendChild(box);
      li.appendChild(label);
      list.appendChild(li);
    });
    inner.appendChild(list);

    var status = make("p", { margin: "0 0 8px", color: "#a3241b" });
    status.setAttribute("role", "status");
    var row = make("div", { display: "flex", flexWrap: "wrap", gap: "10px" });
    // Accept and refuse share one style: neither is nudged.
    function button(text, id, strong) {
      var b = make("button", {
        font: "600 15px system-ui, sans-serif", padding: "10px 20px", borderRadius: "8px", cursor: "pointer", minWidth: "10rem",
        border: "2px solid #0b5cad", background: strong ? "#0b5cad" : "#fff", color: strong ? "#fff" : "#0b5cad"
      }, text);
      b.type = "button";
      b.id = id;
      b.addEventListener("focus", function () { b.style.outline = "3px solid #ffbf47"; b.style.outlineOffset = "2px"; });
      b.addEventListener("blur", function () { b.style.outline = "none"; });
      return b;
    }
    var refuse = button(T.refuse, "troth-refuse", true);
    var accept = button(T.accept, "troth-accept", true);
    var saveBtn = button(T.save, "troth-save", false);
    function decide(all) {
      var d = {};
      config.purposes.forEach(function (pu) {
        if (!pu.optional) return;
        if (pu.tracking && signal) d[pu.id] = false;
        else if (all === true) d[pu.id] = true;
        else if (all === false) d[pu.id] = false;
        else d[pu.id] = !!(boxes[pu.id] && boxes[pu.id].checked);
      });
      send(config, d, status);
    }
    refuse.addEventListener("click", function () { decide(false); });
    accept.addEventListener("click", function () { decide(true); });
    saveBtn.addEventListener("click", function () { decide(null); });
    row.appendChild(refuse);
    row.appendChild(accept);
    row.appendChild(saveBtn);
    inner.appendChild(status);
    inner.appendChild(row);
    root.appendChild(inner);
    document.body.appendChild(root);
  }

  window.troth = {
    config: null,
    open: function () { if (window.troth.config) { var r = document.getElementById("troth-reopen"); if (r) r.remove(); show(window.troth.config); } },
    consent: function (purpose) { return !!(state.choices && state.choices[purpose] === "given"); },
    subject: function () { return state.subject || null; }
  };

  function start() {
    fetch(base + "/banner/config", { credentials: "omit" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (config) {
        window.troth.config = config;
        // A decision under the version in force, with the same privacy signal, is
        // remembered; a new version or a newly sent signal asks again.
        if (state.version === config.version && state.signal === signal) { activate(); reopenButton(); }
        else show(config);
      })
      .catch(function () { /* no banner without a policy; marked scripts stay blocked */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
