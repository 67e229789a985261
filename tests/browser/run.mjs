// Browser scenarios for troth's web pages, run by crates/troth-server/tests/browser.rs
// (which starts the server, the SMTP inbox and the company site and passes their
// addresses in the environment). Each step checks what a person would see and, where
// it matters, what the API then says; every page is saved as a screenshot.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { join } from "node:path";
import assert from "node:assert/strict";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing environment variable ${k}`);
  return v;
};
const BASE = env("TROTH_BASE");
const HELPER = env("TROTH_HELPER");
const TENANT = env("TROTH_TENANT");
const ADMIN = env("TROTH_ADMIN_KEY");
const OPERATOR = env("TROTH_OPERATOR_KEY");
const SUBJECT = env("TROTH_SUBJECT");
const CHILD = env("TROTH_CHILD");
const EMAIL = env("TROTH_EMAIL");
const ARTIFACTS = env("TROTH_ARTIFACTS");
mkdirSync(ARTIFACTS, { recursive: true });
const T = `${BASE}/t/${TENANT}`;
// Never hang the test suite: give up after three minutes.
setTimeout(() => { console.error("browser scenarios timed out"); process.exit(1); }, 180_000).unref();

async function api(path, init = {}) {
  const res = await fetch(BASE + path, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", ...(init.headers || {}) },
  });
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return body;
}

async function mailCount() {
  return (await (await fetch(`${HELPER}/mail-count`)).json()).count;
}

// The code in the newest message once more than `after` messages have arrived.
async function codeAfter(after) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${HELPER}/last-code?after=${after}`);
    if (res.ok) return (await res.json()).code;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no code arrived in the inbox");
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  console.log(`screenshot ${name}`);
}

const browser = await chromium.launch({
  executablePath: env("TROTH_CHROMIUM"),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
let failed = false;
try {
  // 1. A person reads the policy in Chinese, signs in, toggles a consent, agrees to
  //    the changed policy, and the API shows it.
  const zh = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
  const page = await zh.newPage();
  page.on("pageerror", (e) => { console.error("page error:", e); failed = true; });
  await page.goto(`${T}/policy`);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.match(await page.title(), /用户隐私政策/);
  assert.match(await page.locator("nav").innerText(), /历史版本/);
  assert.match(await page.locator("aside.notice").innerText(), /本政策已于以下日期发生重大变更/);
  assert.match(await page.locator("article.policy").innerText(), /[\u4e00-\u9fff]{20}/);
  await shot(page, "01-policy-zh-CN.png");

  await page.click("text=历史版本");
  assert.equal(await page.locator("li.version").count(), 2);
  await shot(page, "02-versions-zh-CN.png");
  await page.locator("li.version.current a", { hasText: "与上一版本比较" }).click();
  assert.match(await page.locator("table.diff").innerText(), /device-info|设备/);
  assert.ok(await page.locator("tr.significant").count() >= 1, "a significant change is highlighted");
  await shot(page, "03-diff-zh-CN.png");

  await page.click("text=登录");
  await page.fill("#email", EMAIL);
  const before = await mailCount();
  await page.click("button[type=submit]:has-text('发送验证码')");
  await page.waitForURL(/signin\/code/);
  await page.fill("#code", await codeAfter(before));
  await page.click("button:has-text('验证')");
  await page.waitForURL(/\/consents/);
  const analytics = page.locator("button.switch[data-purpose='analytics']:not([data-child])");
  assert.equal(await analytics.getAttribute("aria-checked"), "false");
  assert.match(await page.locator("#p-analytics").innerText(), /使用的信息/);
  await shot(page, "04-consents-zh-CN.png");
  // Keyboard: the switch is reachable and works with Enter.
  await analytics.focus();
  await page.keyboard.press("Enter");
  await page.waitForURL(/saved=analytics/);
  assert.equal(await page.locator("button.switch[data-purpose='analytics']:not([data-child])").getAttribute("aria-checked"), "true");
  assert.match(await page.locator("[role=status]").innerText(), /已保存/);
  let history = await api(`/v1/subjects/${SUBJECT}/consents/history`);
  let last = history.items.at(-1).fact;
  assert.equal(last.purpose, "analytics");
  assert.equal(last.status, "given");
  assert.equal(last.method, "form");
  await shot(page, "05-consent-given-zh-CN.png");

  await page.click(`a[href="/t/${TENANT}/reconsent"]`);
  await page.waitForURL(/reconsent/);
  assert.ok(await page.locator("tr.significant").count() >= 1);
  await shot(page, "06-reconsent-zh-CN.png");
  await page.click("button:has-text('同意')");
  await page.waitForURL(/reconsent\?saved=1/);
  assert.match(await page.locator("[role=status]").innerText(), /您对该版本的同意已记录/);
  history = await api(`/v1/subjects/${SUBJECT}/consents/history`);
  const accepted = history.items.at(-1).fact;
  assert.equal(accepted.type, "accept_version");
  assert.equal(accepted.method, "form");

  // The same person is the guardian of a child account and consents for it.
  await page.goto(`${T}/consents`);
  const childSwitch = page.locator(`button.switch[data-child='${CHILD}'][data-purpose='photo-access']`);
  assert.equal(await childSwitch.getAttribute("aria-checked"), "false");
  await childSwitch.click();
  await page.waitForURL(/saved=photo-access/);
  assert.equal(await page.locator(`button.switch[data-child='${CHILD}'][data-purpose='photo-access']`).getAttribute("aria-checked"), "true");
  const childFact = (await api(`/v1/subjects/${CHILD}/consents/history`)).items.at(-1).fact;
  assert.equal(childFact.method, "guardian");
  assert.equal(childFact.actor.guardian, SUBJECT);
  await page.locator(`#c-${CHILD}`).scrollIntoViewIfNeeded();
  await shot(page, "06b-guardian-zh-CN.png");

  // 2. A GPC-enabled browser on the company's site: tracking is refused and the
  //    banner says the signal is honoured; blocked scripts run only with consent.
  const gpc = await browser.newContext({ viewport: { width: 1280, height: 800 }, extraHTTPHeaders: { "Sec-GPC": "1" } });
  await gpc.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true, configurable: true });
  });
  const site = await gpc.newPage();
  site.on("pageerror", (e) => { console.error("site error:", e); failed = true; });
  await site.goto(`${HELPER}/site`);
  await site.waitForSelector("#troth-banner");
  const honoured = site.locator("[data-honoured='analytics']");
  assert.match(await honoured.innerText(), /privacy signal/);
  assert.equal(await site.locator("#troth-p-analytics").isDisabled(), true);
  assert.equal(await site.locator("#troth-p-analytics").isChecked(), false);
  // "Refuse all" is as prominent as "Accept all".
  const style = (sel) => site.$eval(sel, (el) => {
    const s = getComputedStyle(el);
    return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.padding, el.getBoundingClientRect().height].join("|");
  });
  assert.equal(await style("#troth-refuse"), await style("#troth-accept"));
  assert.equal(await site.evaluate(() => window.analyticsLoaded), undefined);
  await shot(site, "07-banner-gpc.png");
  await site.click("#troth-accept");
  await site.waitForSelector("#troth-banner", { state: "detached" });
  await site.waitForFunction(() => window.photoLoaded === true);
  assert.equal(await site.evaluate(() => window.analyticsLoaded), undefined, "tracking stays blocked under GPC");
  const visitor = await site.evaluate(() => window.troth.subject());
  assert.ok(visitor, "the banner recorded a subject");
  const events = (await api(`/v1/subjects/${visitor}/consents/history`)).items.map((e) => e.fact);
  const a = events.find((f) => f.purpose === "analytics");
  assert.equal(a.status, "refused");
  assert.equal(a.method, "banner");
  assert.equal(a.signals.gpc, true);
  assert.equal(events.find((f) => f.purpose === "photo-access").status, "given");
  // Remembered: a reload shows no banner and runs the consented script at once.
  await site.reload();
  await site.waitForFunction(() => window.photoLoaded === true);
  assert.equal(await site.locator("#troth-banner").count(), 0);
  await shot(site, "08-banner-remembered.png");

  // 3. The signed-in person asks for access, verifies by the emailed code and
  //    follows the status.
  await page.goto(`${T}/requests?lang=en`);
  await shot(page, "09-requests.png");
  // One form per kind, each in a <details> that opens without script.
  await page.click("#kind-access > summary");
  await page.click("#submit-access");
  await page.waitForURL(/\/requests\/[0-9a-f-]+$/);
  const requestUrl = page.url();
  const requestId = requestUrl.split("/").at(-1);
  assert.equal(await page.getAttribute("#request-status", "data-status"), "received");
  const sentBefore = await mailCount();
  await page.click("button:has-text('Email me a code')");
  await page.waitForURL(/sent=1/);
  await page.fill("#code", await codeAfter(sentBefore));
  await page.click("button:has-text('Verify')");
  await page.waitForURL(requestUrl);
  assert.equal(await page.getAttribute("#request-status", "data-status"), "in_progress");
  assert.match(await page.locator("#request-due").innerText(), /\d{4}-\d{2}-\d{2}/);
  assert.equal((await api(`/v1/requests/${requestId}`)).status, "in_progress");
  await shot(page, "10-request-verified.png");

  // 4. An operator signs in to the console and completes the request.
  const opCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const op = await opCtx.newPage();
  op.on("pageerror", (e) => { console.error("console error:", e); failed = true; });
  await op.goto(`${BASE}/console`);
  await op.waitForURL(/console\/signin/);
  await op.fill("#api_key", OPERATOR);
  await op.click("button:has-text('Sign in')");
  await op.waitForURL(/console\/requests/);
  const row = op.locator(`a[href='/console/requests/${requestId}']`);
  assert.equal(await row.count(), 1);
  assert.match(await op.locator("table.queue").innerText(), /left/);
  await shot(op, "11-console-queue.png");
  await row.click();
  await op.waitForURL(new RegExp(`/console/requests/${requestId}$`));
  await shot(op, "12-console-request.png");
  await op.selectOption("#outcome", "fulfilled");
  await op.click("button:has-text('Complete request')");
  await op.waitForLoadState();
  assert.equal(await op.getAttribute("#request-status", "data-status"), "completed");
  assert.equal((await api(`/v1/requests/${requestId}`)).status, "completed");
  await shot(op, "13-console-request-completed.png");
  await op.click("text=Consent statistics");
  await shot(op, "14-console-stats.png");
  await op.click("text=Policy versions");
  await shot(op, "15-console-policies.png");
  await op.click("text=Audit log");
  await op.click("button:has-text('Verify chain')");
  assert.match(await op.locator("#verify-result").innerText(), /The chain is intact/);
  await shot(op, "16-console-audit.png");

  // The person sees the completed request and downloads the export: a zip whose
  // manifest (its first entry) names them.
  await page.reload();
  assert.equal(await page.getAttribute("#request-status", "data-status"), "completed");
  await shot(page, "17-request-export.png");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("#export-download"),
  ]);
  assert.equal(download.suggestedFilename(), `troth-export-${requestId}.zip`);
  const zip = readFileSync(await download.path());
  assert.equal(zip.readUInt32LE(0), 0x04034b50, "a zip file");
  const nameLen = zip.readUInt16LE(26);
  const extraLen = zip.readUInt16LE(28);
  assert.equal(zip.subarray(30, 30 + nameLen).toString(), "manifest.json");
  const start = 30 + nameLen + extraLen;
  const manifest = JSON.parse(inflateRawSync(zip.subarray(start, start + zip.readUInt32LE(18))).toString());
  assert.equal(manifest.subject, SUBJECT);
  assert.equal(manifest.request_id, requestId);

  // 4b. In Chinese, the person asks to correct their email address and to withdraw
  // one consent; a withdrawal with nothing ticked is refused at its field. The
  // correction is verified by code, the operator completes both in the console, and the person
  // sees what was done while the API shows the new value and the withdrawal.
  await api("/v1/consents", { method: "POST", body: JSON.stringify({ subject: SUBJECT, purpose: "registration", status: "given" }) });
  await api(`/v1/subjects/${SUBJECT}/vault/email/main`, { method: "PUT", body: JSON.stringify({ value: EMAIL, purpose: "registration" }) });
  await api("/v1/notify-targets/portability-partner", { method: "PUT", body: JSON.stringify({ webhook: `${HELPER}/copies`, events: ["copy.transfer"] }) });
  const verifyHere = async (id) => {
    const before = await mailCount();
    await page.click(`form[action$='/requests/${id}/code'] button`);
    await page.waitForURL(/sent=1/);
    await page.fill("#code", await codeAfter(before));
    await page.click(`form[action$='/requests/${id}/confirm'] button`);
    await page.waitForURL(new RegExp(`/requests/${id}$`));
    assert.equal(await page.getAttribute("#request-status", "data-status"), "in_progress");
  };
  await page.goto(`${T}/requests?lang=zh-CN`);
  await page.click("#kind-correction > summary");
  assert.ok(await page.locator("#correction-record").isVisible());
  assert.match(await page.locator("label[for=correction-record]").innerText(), /需要更正的信息/);
  await page.selectOption("#correction-record", "email:main");
  await page.fill("#correction-value", "lei.li@example.org");
  await shot(page, "25-request-correction-form-zh-CN.png");
  await page.click("#submit-correction");
  await page.waitForURL(/\/requests\/[0-9a-f-]+$/);
  const correctionId = page.url().split("/").at(-1);
  assert.match(await page.locator("#request-asked").innerText(), /电子邮箱地址（main）/);
  assert.doesNotMatch(await page.locator("main").innerText(), /lei\.li@example\.org/);
  await verifyHere(correctionId);
  await page.goto(`${T}/requests`);
  // Keyboard: the withdrawal's summary opens with Enter.
  await page.focus("#kind-withdraw_consent > summary");
  await page.keyboard.press("Enter");
  assert.ok(await page.locator("#withdraw-analytics").isVisible());
  await page.click("#submit-withdraw_consent");
  await page.waitForLoadState();
  assert.match(await page.locator("#withdraw-purposes-error").innerText(), /请至少选择一项要撤回的同意/);
  assert.equal(await page.getAttribute("#kind-withdraw_consent", "open"), "");
  await shot(page, "26-request-withdraw-error-zh-CN.png");
  await page.check("#withdraw-analytics");
  await page.click("#submit-withdraw_consent");
  await page.waitForURL(/\/requests\/[0-9a-f-]+$/);
  const withdrawId = page.url().split("/").at(-1);
  assert.match(await page.locator("#request-asked").innerText(), /内部数据分析/);
  // The pack asks no identity check for a withdrawal: it is in progress at once.
  assert.equal(await page.getAttribute("#request-status", "data-status"), "in_progress");
  for (const id of [correctionId, withdrawId]) {
    await op.goto(`${BASE}/console/requests/${id}`);
    if (id === correctionId) {
      // The operator sees which record is to be corrected, never the new value.
      assert.match(await op.locator("#request-asked").innerText(), /Email address \(main\)/);
      assert.doesNotMatch(await op.locator("main").innerText(), /lei\.li@example\.org/);
      await shot(op, "30-console-correction.png");
    }
    await op.selectOption("#outcome", "fulfilled");
    await op.click("button:has-text('Complete request')");
    await op.waitForLoadState();
    assert.equal(await op.getAttribute("#request-status", "data-status"), "completed");
  }
  await page.goto(`${T}/requests/${correctionId}`);
  assert.match(await page.locator("#request-result").innerText(), /我们已更正：\s*电子邮箱地址（main）/);
  await shot(page, "27-request-corrected-zh-CN.png");
  const stored = await api(`/v1/subjects/${SUBJECT}/vault/email/main?purpose=registration`);
  assert.equal(stored.value, "lei.li@example.org");
  await page.goto(`${T}/requests/${withdrawId}`);
  assert.match(await page.locator("#request-result").innerText(), /您已撤回对以下处理目的的同意：\s*内部数据分析/);
  await shot(page, "28-request-withdrawn-zh-CN.png");
  const withdrawal = (await api(`/v1/subjects/${SUBJECT}/consents/history`)).items.at(-1).fact;
  assert.equal(withdrawal.purpose, "analytics");
  assert.equal(withdrawal.status, "withdrawn");
  await page.goto(`${T}/consents`);
  assert.equal(await page.locator("button.switch[data-purpose='analytics']:not([data-child])").getAttribute("aria-checked"), "false");
  // The same forms in English, with the copy's third parties.
  await page.goto(`${T}/requests?lang=en`);
  await page.click("#kind-correction > summary");
  await page.click("#kind-copy > summary");
  assert.match(await page.locator("label[for=correction-record]").innerText(), /Information to correct/);
  assert.equal(await page.locator("#copy-third-party option[value='portability-partner']").count(), 1);
  await shot(page, "29-request-forms-en.png");

  // 5. The operator records a breach in the console, assesses it, sends the
  // notices, reads the regulator's report, and reads the aggregate report.
  await op.click("nav >> text=Incidents");
  await op.waitForURL(/console\/incidents$/);
  // A first try without Chinese text shows the problem at its field.
  await op.fill("#title-en", "Support database exposed");
  await op.click("button:has-text('Record incident')");
  await op.waitForLoadState();
  assert.ok(await op.locator("#title-zh-error").isVisible());
  assert.equal(await op.getAttribute("#title-zh", "aria-invalid"), "true");
  await shot(op, "18-console-incident-errors.png");
  const texts = {
    "title-zh": "客服数据库遭未授权访问",
    "description-en": "A support tool exposed contact details for six hours.",
    "description-zh": "一个客服工具在六小时内暴露了联系信息。",
    "cause-en": "A misconfigured access rule.",
    "cause-zh": "访问规则配置错误。",
    "possible-harm-en": "Phishing emails.",
    "possible-harm-zh": "可能收到钓鱼邮件。",
    "remedies-en": "The rule was fixed and access logs reviewed.",
    "remedies-zh": "已修正规则并审查访问日志。",
    "advice-en": "Be wary of emails asking for passwords.",
    "advice-zh": "请警惕索要密码的邮件。",
  };
  for (const [id, value] of Object.entries(texts)) await op.fill(`#${id}`, value);
  await op.fill("#discovered-at", "2026-11-30T08:00");
  await op.check("input[name='cat.identity.email']");
  await op.click("button:has-text('Record incident')");
  await op.waitForURL(/console\/incidents\/[0-9a-f-]+$/);
  const incidentId = op.url().split("/").pop();
  assert.equal(await op.getAttribute("#incident-status", "data-status"), "open");
  assert.match(await op.locator("#notice-zh-CN").innerText(), /涉及的个人信息种类：电子邮箱地址/);
  assert.match(await op.locator("#notice-en").innerText(), /What you can do: Be wary/);
  await shot(op, "19-console-incident.png");
  await op.click("button:has-text('Assess the people affected')");
  await op.waitForLoadState();
  assert.equal(await op.getAttribute("#incident-status", "data-status"), "assessed");
  assert.equal((await op.locator("#incident-affected").innerText()).trim(), "1");
  await op.click("button:has-text('Send the notices')");
  await op.waitForLoadState();
  assert.equal(await op.getAttribute("#incident-status", "data-status"), "notified");
  const incident = await api(`/v1/incidents/${incidentId}`);
  assert.equal(incident.status, "notified");
  assert.equal(incident.affected, 1);
  assert.match(await op.locator("#incident-timeline").innerText(), /Notices queued/);
  await shot(op, "20-console-incident-notified.png");
  await op.click("#report-link");
  await op.waitForURL(/\/report$/);
  assert.match(await op.locator("#incident-report").innerText(), /个人信息处理者/);
  await shot(op, "21-console-incident-report.png");
  await op.click("nav >> text=Reports");
  await op.waitForURL(/console\/reports$/);
  assert.ok((await op.locator("table.aggregate").count()) > 0);
  // With a handful of people every non-zero count is under k: shown as suppressed.
  assert.ok((await op.locator("table.aggregate .suppressed").count()) > 0);
  await op.click("#generate-pia");
  await op.waitForURL(/console\/reports\/pia\//);
  assert.match(await op.locator("#report-doc h1").innerText(), /Impact Assessment/);
  await shot(op, "22-console-pia.png");
  await op.click("nav >> text=Reports");
  await shot(op, "23-console-reports.png");

  // 6. The admin stores the National Day holidays through the API; the operator
  // reads them in the console, where only admins may change them.
  await api("/v1/calendar", {
    method: "PUT",
    body: JSON.stringify({
      year: 2026,
      holidays: [{ date: "2026-10-01", name: "National Day" }, "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
      working_days: ["2026-09-27", "2026-10-10"],
    }),
  });
  await op.click("nav >> text=Holiday calendar");
  await op.goto(`${BASE}/console/calendar?year=2026`);
  assert.match(await op.locator("#k_holidays").innerText(), /2026-10-01\s+National Day/);
  assert.match(await op.locator("#k_working_days").innerText(), /2026-10-10/);
  assert.match(await op.locator("main").innerText(), /Only admin keys may change the calendar/);
  await shot(op, "24-console-calendar.png");
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  await browser.close();
}
if (failed) process.exit(1);
console.log("all browser scenarios passed");
