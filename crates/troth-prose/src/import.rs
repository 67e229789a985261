//! Draft a `policy.toml` manifest (see `docs/POLICY.md`) from a prose policy.
//!
//! The draft is deliberately conservative: every drafted value carries a
//! `# from: "<sentence>" (line N)` comment quoting the prose it came from, and
//! whatever the prose does not say is marked `TODO` in a way the pack validator
//! reports — a placeholder in a text or contact (`"TODO: …"`), an empty list
//! that must not be empty, a zero deadline, a `"TODO"` country. Typed fields the
//! validator cannot question (dates, enums with a safe default) get a `# TODO`
//! comment instead. The structure is always complete, so `troth policy check`
//! reports every gap at once rather than stopping at the first missing field.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

use crate::audit::{Law, Status, audit};
use crate::classify::{Classification, Classifier, Practice};
use crate::split::Sentence;
use crate::{Document, Language, re};

/// A drafted manifest.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The `policy.toml` text.
    pub toml: String,
    /// Number of values drafted from the prose (each with a `# from:` comment).
    pub drafted: usize,
    /// Number of `TODO` markers left for a person.
    pub todos: usize,
    /// Audit findings (rule ids) reported missing or vague.
    pub gaps: Vec<String>,
}

/// Escape `s` as a TOML basic string (quotes included).
#[must_use]
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `# from:` comment for a sentence: quoted, one line, shortened.
fn from(s: &Sentence) -> String {
    let mut t: String = s.text.chars().take(160).collect();
    if s.text.chars().count() > 160 {
        t.push('…');
    }
    let t = t.replace(['\n', '\r'], " ");
    format!("# from: {} (line {})", toml_string(&t), s.line)
}

struct Lex {
    id: &'static str,
    en: &'static str,
    zh: &'static str,
    re: Regex,
}

fn lex(items: &[(&'static str, &'static str, &'static str, &str)]) -> Vec<Lex> {
    items
        .iter()
        .map(|&(id, en, zh, p)| Lex {
            id,
            en,
            zh,
            re: re(p),
        })
        .collect()
}

/// Data categories: (id, English name, Chinese name, pattern). Sensitivity,
/// source and device-identifier flags come from [`category_kind`].
static CATEGORIES: LazyLock<Vec<Lex>> = LazyLock::new(|| {
    lex(&[
        (
            "name",
            "Name",
            "姓名",
            r"(?i)\b(?:your|real|full|legal|user's) names?\b|\bnames?, (?:e-?mail|phone|address)|姓名",
        ),
        (
            "email",
            "Email address",
            "电子邮箱地址",
            r"(?i)\be-?mail (?:address|account)(?:es)?\b|电子邮(?:件|箱)地址|邮箱地址",
        ),
        (
            "username",
            "Username",
            "用户名",
            r"(?i)\buser ?names?\b|\baccount names?\b|用户名|账号名",
        ),
        (
            "nickname",
            "Nickname and avatar",
            "昵称及头像",
            r"(?i)\bnick ?names?\b|\bavatars?\b|\bprofile (?:picture|photo)s?\b|昵称|头像",
        ),
        ("password", "Password", "密码", r"(?i)\bpasswords?\b|密码"),
        (
            "phone",
            "Mobile phone number",
            "手机号码",
            r"(?i)\b(?:mobile |cell(?:ular)? |tele)?phone numbers?\b|手机号|电话号码",
        ),
        (
            "job-title",
            "Job position",
            "职位",
            r"(?i)\bjob (?:positions?|titles?)\b|\boccupations?\b|职位|职业",
        ),
        (
            "company",
            "Company",
            "公司",
            r"(?i)\bcompany(?: name)?[,;、]|\bemployer\b|工作单位|公司名称",
        ),
        (
            "education",
            "Education background",
            "教育背景",
            r"(?i)\beducation(?:al)? (?:background|level)s?\b|教育背景|学历",
        ),
        (
            "gender-birthday",
            "Gender and date of birth",
            "性别及出生日期",
            r"(?i)\bgender\b|\bdate of birth\b|\bbirthday\b|性别|生日|出生日期",
        ),
        (
            "id-document",
            "Identity document number",
            "身份证件号码",
            r"(?i)\bid (?:card|number)s?\b|\bidentity (?:card|document)s?\b|\bpassport\b|身份证",
        ),
        (
            "biometric",
            "Biometric information",
            "生物识别信息",
            r"(?i)\bfac(?:e|ial) (?:recognition|image|information)|\bfingerprints?\b|\bbiometric\w*|人脸|面部|指纹|生物识别",
        ),
        (
            "health",
            "Health information",
            "健康生理信息",
            r"(?i)\bhealth (?:information|data)\b|\bmedical\b|健康信息|病历|病史",
        ),
        (
            "precise-location",
            "Location information",
            "位置信息",
            r"(?i)\b(?:precise |geographic(?:al)? |gps )?location (?:information|data)\b|\bgps\b|位置信息|地理位置|定位",
        ),
        (
            "postal-address",
            "Postal or delivery address",
            "收货地址",
            r"(?i)\b(?:postal|shipping|delivery|mailing|home) address(?:es)?\b|收货地址|通讯地址|住址",
        ),
        (
            "payment",
            "Payment and bank card information",
            "支付及银行卡信息",
            r"(?i)\b(?:bank|credit|debit) cards?\b|\bpayment (?:information|account)s?\b|银行卡|支付账号|支付信息",
        ),
        (
            "transactions",
            "Orders and transaction records",
            "订单及交易记录",
            r"(?i)\border (?:information|details|records?)\b|\btransaction (?:information|records?|history)\b|订单信息|交易记录|交易信息",
        ),
        (
            "photos",
            "Photos and album content",
            "相册及照片",
            r"(?i)\bphotos?\b|\balbums?\b|相册|照片",
        ),
        (
            "contact-list",
            "Address book",
            "通讯录",
            r"(?i)\baddress book\b|\bcontact(?:s)? list\b|通讯录",
        ),
        (
            "ip-address",
            "IP address",
            "IP地址",
            r"(?i)\bip address(?:es)?\b|IP地址",
        ),
        (
            "device-info",
            "Device information",
            "设备信息",
            r"(?i)\bdevice (?:model|type|information|name)s?\b|\boperating system\b|\bplatforms?\b|设备型号|设备信息|操作系统",
        ),
        (
            "browser-network",
            "Browser and network information",
            "浏览器及网络信息",
            r"(?i)\bbrowsers?(?: type)?\b|\binternet service providers?\b|\bnetwork (?:type|status|information)\b|\bwi-?fi\b|浏览器|网络类型|网络状态|运营商",
        ),
        (
            "app-info",
            "Application information",
            "应用信息",
            r"(?i)\bapplication (?:identifiers?|versions?|distribution)\b|\bapp versions?\b|\bsdk/api\b|应用版本|应用标识",
        ),
        (
            "device-id",
            "Unique device identifier",
            "设备唯一标识符",
            r"(?i)\b(?:unique|stand-alone|standalone) device identifiers?\b|\bdevice (?:ids?|identifiers?)\b|\bandroid ?id\b|\bserial numbers?\b|设备标识|唯一设备识别码|设备识别码|Android ?ID",
        ),
        (
            "imei",
            "IMEI",
            "国际移动设备识别码（IMEI）",
            r"(?i)\bimei\b",
        ),
        (
            "imsi",
            "IMSI",
            "国际移动用户识别码（IMSI）",
            r"(?i)\bimsi\b",
        ),
        (
            "mac",
            "MAC address",
            "MAC地址",
            r"(?i)\bmac(?: address(?:es)?)?\b|网卡",
        ),
        (
            "idfa",
            "iOS advertising identifier (IDFA)",
            "iOS广告标识符（IDFA）",
            r"(?i)\bidfas?\b|\bios advertis\w* identifiers?",
        ),
        (
            "ad-id",
            "Advertising identifier (OAID / Android advertising ID)",
            "广告标识符（OAID等）",
            r"(?i)\boaid\b|\bandroid advertis\w* id\w*|\badvertis\w* (?:identifiers?|ids?)\b|广告标识",
        ),
        (
            "usage-log",
            "Usage and log records",
            "使用及日志记录",
            r"(?i)\blog (?:information|data|files?)\b|\busage (?:information|data)\b|\btimestamps?\b|\bbrowsing (?:history|records?)\b|日志|浏览记录|使用记录",
        ),
        (
            "search-history",
            "Search history",
            "搜索记录",
            r"(?i)\bsearch (?:history|records?|terms?)\b|搜索记录",
        ),
        (
            "cookie-id",
            "Cookie identifiers",
            "Cookie标识符",
            r"(?i)\bcookies?\b",
        ),
    ])
});

/// (sensitivity, source, device identifier) for a category id.
fn category_kind(id: &str) -> (&'static str, &'static str, bool) {
    match id {
        // PIPL Art.28 / GB/T 35273 Annex B: sensitive personal information.
        "password" | "id-document" | "biometric" | "health" | "precise-location" | "payment" => {
            ("sensitive", "user", false)
        }
        "photos" | "contact-list" | "ip-address" | "device-info" | "browser-network"
        | "app-info" | "usage-log" | "search-history" => ("normal", "device", false),
        "device-id" | "imei" | "imsi" | "mac" | "idfa" | "ad-id" | "cookie-id" => {
            ("normal", "device", true)
        }
        _ => ("normal", "user", false),
    }
}

/// Purposes: (id, English name, Chinese name, pattern).
static PURPOSES: LazyLock<Vec<Lex>> = LazyLock::new(|| {
    lex(&[
        (
            "registration",
            "Register and keep a user account",
            "注册及维护用户账号",
            r"(?i)\bregist\w*|\bcreat\w* (?:an |your )?account|\baccount creation\b|\bsign(?:ing)?[- ]up\b|\blog ?in\b|注册|登录|创建账号",
        ),
        (
            "orders-payment",
            "Orders, payment and delivery",
            "下单、支付及配送",
            r"(?i)\b(?:place|process|fulfil)\w* (?:your )?orders?\b|\bpayments?\b|\bdeliver(?:y|ies)\b|下单|支付|配送",
        ),
        (
            "customer-service",
            "Customer service",
            "客户服务",
            r"(?i)\bcustomer (?:service|support)\b|\bcomplaints?\b|客服|客户服务|售后",
        ),
        (
            "security",
            "Account and transaction security",
            "账号及交易安全保障",
            r"(?i)\bfraud\w*|\brisk control\b|\baccount security\b|\bsecur\w* (?:your|of your) account|安全保障|风控|风险控制|欺诈",
        ),
        (
            "analytics",
            "Analytics and product improvement",
            "统计分析及产品改进",
            r"(?i)\banaly[sz]\w*|\bstatistic\w*|\bresearch\b|\bimprov\w* (?:our |the )?(?:products?|services?)|统计|分析|改进|优化",
        ),
        (
            "personalisation",
            "Personalised recommendations",
            "个性化推荐",
            r"(?i)\bpersonali[sz]\w*|\brecommend\w*|个性化|推荐",
        ),
        (
            "marketing",
            "Marketing and advertising",
            "营销及广告推送",
            r"(?i)\bmarketing\b|\bpromotion\w*|\badvertis\w*|营销|推广|广告",
        ),
        (
            "location-services",
            "Location-based services",
            "基于位置的服务",
            r"(?i)\blocation-based\b|\bnearby\b|基于位置|附近",
        ),
        (
            "legal-compliance",
            "Comply with laws and authority requirements",
            "遵守法律法规及主管部门要求",
            r"(?i)\blaws? and regulations\b|\blegal (?:proceedings|obligations?|process)\b|\bgovernment (?:departments?|authorit\w*)|\bjudicial\b|法律法规|司法机关|行政机关|主管部门",
        ),
    ])
});

/// Recipients: (id, English name, Chinese name, pattern); kind from [`recipient_kind`].
static RECIPIENTS: LazyLock<Vec<Lex>> = LazyLock::new(|| {
    lex(&[
        (
            "affiliates",
            "Our affiliates",
            "我们的关联公司",
            r"(?i)\baffiliat\w*|关联公司|关联方|关联企业",
        ),
        (
            "partners",
            "Authorised partners",
            "授权合作伙伴",
            r"(?i)\b(?:authori[sz]ed |business |third[- ]party )?partners?\b|合作伙伴|合作方",
        ),
        (
            "service-providers",
            "Service providers processing on our behalf",
            "受托处理的服务提供商",
            r"(?i)\bservice providers?\b|\bvendors?\b|\bsuppliers?\b|\bprocessors?\b|\bentrust\w*|服务商|供应商|委托处理|受托",
        ),
        (
            "sdk-providers",
            "Third-party SDK providers",
            "第三方SDK提供方",
            r"(?i)\bsdks?\b|SDK",
        ),
        (
            "authorities",
            "Competent government departments and judicial bodies",
            "政府主管部门及司法机关",
            r"(?i)\bgovernment (?:departments?|authorit\w*|agenc\w*)|\blaw enforcement\b|\bjudicial\b|\bcourts?\b|政府|主管部门|司法机关|行政机关",
        ),
    ])
});

fn recipient_kind(id: &str) -> &'static str {
    match id {
        "affiliates" => "affiliate",
        "service-providers" | "sdk-providers" => "processor",
        "authorities" => "authority",
        _ => "partner",
    }
}

/// Rights: (kind, English, Chinese, pattern).
static RIGHTS: LazyLock<Vec<Lex>> = LazyLock::new(|| {
    lex(&[
        (
            "access",
            "Access",
            "查阅",
            r"(?i)\baccess (?:to )?your\b|\bright to access\b|\bvisit your personal\b|\bview\b|查阅|查询|访问您的",
        ),
        (
            "correction",
            "Correction",
            "更正",
            r"(?i)\bcorrect\w*|\brectif\w*|\bupdate your\b|更正|修改您的",
        ),
        (
            "deletion",
            "Deletion",
            "删除",
            r"(?i)\bdelet\w*|\beras\w*|删除",
        ),
        (
            "withdraw_consent",
            "Withdraw consent",
            "撤回同意",
            r"(?i)\bwithdraw\w*|\bchange (?:the )?scope of (?:your )?(?:consent|authori[sz]ation)|撤回|改变授权|撤销授权",
        ),
        (
            "cancel_account",
            "Cancel the account",
            "注销账号",
            r"(?i)\bcancel\w* (?:your |the )?account|\bclose your account\b|\bdeactivat\w*|\bdelete your account\b|注销",
        ),
        (
            "copy",
            "Obtain a copy",
            "获取副本",
            r"(?i)\bcop(?:y|ies) of your\b|\bportab\w*|\bexport\b|副本|导出|转移",
        ),
        (
            "explanation",
            "Explanation of automated decisions",
            "自动化决策说明",
            r"(?i)\bautomat\w* decision|\bexplanation\b|自动化决策|作出解释|要求解释",
        ),
        (
            "opt_out_targeting",
            "Opt out of marketing and targeting",
            "退出营销及定向推送",
            r"(?i)\bopt[- ]?out\b|\bunsubscrib\w*|\bstop receiving\b|退订|关闭个性化|拒绝接收",
        ),
        (
            "complaint",
            "Complaint",
            "投诉",
            r"(?i)\bcomplain\w*|投诉|举报",
        ),
    ])
});

/// Security measures: (id, English, Chinese, pattern).
static MEASURES: LazyLock<Vec<Lex>> = LazyLock::new(|| {
    lex(&[
        (
            "encryption",
            "Encryption in transit and at rest (such as SSL/TLS)",
            "传输及存储加密（如SSL/TLS）",
            r"(?i)\bencrypt\w*|\bssl\b|\btls\b|\bhttps\b|加密",
        ),
        (
            "access-control",
            "Access control: only authorised staff access personal information",
            "访问控制：仅授权人员可访问个人信息",
            r"(?i)\baccess control\w*|\bauthori[sz]ed (?:personnel|staff|employees)\b|访问控制|权限管理",
        ),
        (
            "de-identification",
            "De-identification and anonymisation",
            "去标识化及匿名化处理",
            r"(?i)\bde-?identif\w*|\banonymi[sz]\w*|\bpseudonymi[sz]\w*|去标识化|匿名化",
        ),
        (
            "training",
            "Staff security and privacy training",
            "员工安全及隐私保护培训",
            r"(?i)\btraining\b|培训",
        ),
        (
            "confidentiality",
            "Confidentiality agreements with staff and partners",
            "与员工及合作方签署保密协议",
            r"(?i)\bconfidentiality (?:agreements?|obligations?)\b|保密协议|保密义务",
        ),
        (
            "incident-response",
            "Security incident response plan",
            "安全事件应急预案",
            r"(?i)\bemergency (?:response )?plan\w*|\bincident response\b|应急预案|应急响应",
        ),
        (
            "certification",
            "Security certification or classified protection",
            "安全认证或等级保护",
            r"(?i)\biso ?27001\b|\bclassified protection\b|\bcertif\w*|等级保护|认证",
        ),
    ])
});

/// Notice channels: (channel, pattern).
static CHANNELS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("email", r"(?i)\be-?mails?\b|邮件"),
        ("letter", r"(?i)\bletters?\b|信函"),
        (
            "phone",
            r"(?i)\b(?:tele)?phone\b|\bsms\b|\btext messages?\b|电话|短信",
        ),
        ("push", r"(?i)\bpush\w*|推送"),
        ("pop_up", r"(?i)\bpop-?ups?\b|\bpop-up windows?\b|弹窗|弹框"),
        (
            "announcement",
            r"(?i)\bannouncements?\b|\bpublic notices?\b|公告",
        ),
        (
            "home_page",
            r"(?i)\b(?:home ?page|website|official site)\b|首页|官网|网站",
        ),
    ]
    .into_iter()
    .map(|(c, p)| (c, re(p)))
    .collect()
});

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:\+?86[- ]?)?(?:400[- ]?\d{3}[- ]?\d{4}|0\d{2,3}[- ]?\d{7,8}|1[3-9]\d{9})(?:\D|$)")
});
static URL: LazyLock<Regex> = LazyLock::new(|| re(r#"https?://[^\s"'<>()（）,，。]+"#));
static COMPANY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"((?:[A-Z][A-Za-z0-9&'-]*\s+){1,8}(?:Co\.,?\s*Ltd\.?|Company Limited|Limited|Ltd\.|Inc\.|LLC|GmbH|Corporation|Corp\.))|([\p{Han}A-Za-z0-9()（）]{2,30}(?:有限责任公司|股份有限公司|有限公司))",
    )
});
static DEADLINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)within\s+(\d{1,3}|seven|ten|fifteen|thirty)\s*(working |business |calendar )?days|(\d{1,3}|七|十|十五|三十)\s*个?(工作日|日|天)内",
    )
});
static REPLY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\brepl\w*|\brespon\w*|\banswer\w*|\bprocess\w* (?:your )?request|答复|回复|处理|反馈")
});
static AGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:under|below|less than|younger than|aged?)\s+(?:the age of\s+)?(\d{1,2})|(\d{1,2}|十四|十八)\s*周?岁",
    )
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(effective|updated|update|生效|更新|发布)[^0-9]{0,12}?(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})|(effective|updated|update)[^A-Za-z0-9]{0,12}(?:date)?[^A-Za-z0-9]{0,4}([A-Z][a-z]{2,8})\.?\s+(\d{1,2}),\s*(\d{4})",
    )
});
static DOMESTIC: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bstored? (?:\w+ ){0,4}(?:in|within) (?:the )?(?:people's republic of china|prc|mainland china|china)\b|境内",
    )
});
static RETENTION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:retain|retention|keep|kept|store|stored|storage period)\b|保存期限|存储期限|保留期限|保存|留存",
    )
});
static SEPARATE_CONSENT_CHILD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:parents?|guardians?)\b.{0,80}\b(?:consent|permission|authori[sz]ation|agree)|监护人.{0,30}(?:同意|授权)",
    )
});
static EXPLICIT_RENEWAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:re-?obtain|obtain your (?:explicit |express )?consent again|seek your consent again|ask (?:for )?your consent again)|重新征得|再次征得|重新取得",
    )
});
static OFFICER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:personal information protection (?:officer|department|person in charge)|data protection officer|dpo)\b|个人信息保护(?:负责人|官|部门|专职部门)",
    )
});
static CESSATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bcease\w* (?:to )?(?:operat|provid)\w*|\bstop\w* (?:operat|provid)\w*|\bterminat\w* (?:of )?(?:our )?(?:operations?|services?)|停止运营|终止运营|停止提供",
    )
});

fn month(s: &str) -> Option<u32> {
    let m = s.get(..3)?.to_ascii_lowercase();
    let i = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|x| *x == m)?;
    u32::try_from(i + 1).ok()
}

fn number(s: &str) -> Option<u32> {
    match s.to_ascii_lowercase().as_str() {
        "seven" | "七" => Some(7),
        "ten" | "十" => Some(10),
        "fifteen" | "十五" => Some(15),
        "thirty" | "三十" => Some(30),
        "十四" => Some(14),
        "十八" => Some(18),
        n => n.parse().ok(),
    }
}

/// Collects lines of TOML and counts drafted values and TODOs.
struct Out {
    s: String,
    drafted: usize,
    todos: usize,
}

impl Out {
    fn line(&mut self, l: &str) {
        self.todos += l.matches("TODO").count();
        self.s.push_str(l);
        self.s.push('\n');
    }
    fn from(&mut self, s: &Sentence) {
        self.drafted += 1;
        self.line(&from(s));
    }
    fn blank(&mut self) {
        self.s.push('\n');
    }
}

/// A text value in both languages: lexicon names carry both; quoted prose only
/// its own language, the other side is a `TODO` for the translator.
fn bilingual(en: &str, zh: &str) -> String {
    format!(
        "{{ en = {}, zh-CN = {} }}",
        toml_string(en),
        toml_string(zh)
    )
}

fn quoted(lang: Language, text: &str) -> String {
    match lang {
        Language::Chinese => bilingual("TODO: translate", text),
        Language::English => bilingual(text, "TODO: 翻译"),
    }
}

fn todo_text(what: &str) -> String {
    bilingual(&format!("TODO: {what}"), &format!("TODO: {what}"))
}

/// Sentences (not headings) with their labels.
struct Analysed<'a> {
    doc: &'a Document,
    labels: Vec<Classification>,
}

impl Analysed<'_> {
    fn sentences(&self) -> impl Iterator<Item = (&Sentence, &Classification)> {
        self.doc
            .sentences()
            .iter()
            .zip(&self.labels)
            .filter(|(s, _)| !s.is_heading)
    }
    /// First sentence with any of `labels` (or any, when empty) matching `re`.
    fn find(&self, labels: &[Practice], re: &Regex) -> Option<&Sentence> {
        self.sentences()
            .find(|(s, c)| {
                (labels.is_empty() || labels.iter().any(|p| c.has(*p))) && re.is_match(&s.text)
            })
            .map(|(s, _)| s)
    }
}

/// Draft a manifest for `doc`. `pack_id` becomes `policy.id`.
#[must_use]
#[allow(clippy::too_many_lines)] // one pass over the manifest's sections, in file order
pub fn draft_policy(doc: &Document, pack_id: &str) -> Draft {
    let lang = doc.language();
    let a = Analysed {
        doc,
        labels: Classifier::new().classify_document(doc),
    };
    let report = audit(doc, Law::Pipl);
    let gaps: Vec<String> = report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Missing | Status::Vague))
        .map(|f| format!("{} ({}): {}", f.rule, f.status.id(), f.title))
        .collect();
    let gap = |rule: &str| {
        report
            .finding(rule)
            .is_some_and(|f| matches!(f.status, Status::Missing | Status::Vague))
    };
    let mut o = Out {
        s: String::new(),
        drafted: 0,
        todos: 0,
    };
    o.line("# Drafted by `troth policy import` from a prose policy. Every drafted value quotes");
    o.line("# the sentence it came from (`# from:`); every `TODO` is something the prose does not");
    o.line("# say and a person must decide. `troth policy check` lists them all.");
    if !gaps.is_empty() {
        o.line("#");
        o.line("# PIPL audit of the prose — missing or vague:");
        for g in &gaps {
            o.line(&format!("#   {g}"));
        }
    }
    o.line("");
    o.line("schema = 1");
    o.blank();

    // ---- [policy]
    o.line("[policy]");
    o.line(&format!("id = {}", toml_string(pack_id)));
    let title = doc
        .sentences()
        .iter()
        .find(|s| !s.text.trim().is_empty())
        .filter(|s| s.text.chars().count() <= 60);
    match title {
        Some(s) => {
            o.from(s);
            o.line(&format!("title = {}", quoted(lang, s.text.trim())));
        }
        None => o.line(&format!("title = {}", todo_text("policy title"))),
    }
    o.line("version = \"1.0\"");
    let mut dates: BTreeMap<&str, (String, &Sentence)> = BTreeMap::new();
    for (s, _) in a.sentences().take(40) {
        for c in DATE.captures_iter(&s.text) {
            let (kind, y, m, d) = if let Some(k) = c.get(1) {
                (
                    k.as_str(),
                    c[2].parse::<u32>().ok(),
                    c[3].parse::<u32>().ok(),
                    c[4].parse::<u32>().ok(),
                )
            } else {
                (
                    c.get(5).map_or("", |m| m.as_str()),
                    c[8].parse().ok(),
                    month(&c[6]),
                    c[7].parse().ok(),
                )
            };
            let (Some(y), Some(m), Some(d)) = (y, m, d) else {
                continue;
            };
            if !(1990..=2100).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                continue;
            }
            let key = if kind.eq_ignore_ascii_case("effective") || kind == "生效" {
                "effective"
            } else {
                "published"
            };
            dates
                .entry(key)
                .or_insert((format!("{y:04}-{m:02}-{d:02}"), s));
        }
    }
    // Without a publication date, the effective date stands in for it and the
    // publication is drafted `notice_days` earlier, so the pair is consistent.
    let notice = notice_days(&a);
    let notice_n = notice.map_or(0, |(n, _)| n);
    match (dates.get("published"), dates.get("effective")) {
        (Some(p), Some(e)) => {
            o.from(p.1);
            o.line(&format!("published = {}", p.0));
            if e.1.index != p.1.index {
                o.from(e.1);
            }
            o.line(&format!("effective = {}", e.0));
        }
        (Some(d), None) | (None, Some(d)) => {
            o.from(d.1);
            o.line("# one date in the prose: drafted as the effective date, published the notice period before");
            o.line(&format!(
                "published = {}",
                shift_date(&d.0, -i64::from(notice_n))
            ));
            o.line(&format!("effective = {}", d.0));
        }
        (None, None) => {
            o.line("# CHECK: the prose gives no date; set the publication and effective dates");
            o.line("published = 2000-01-01");
            o.line(&format!(
                "effective = {}",
                shift_date("2000-01-01", i64::from(notice_n))
            ));
        }
    }
    if let Some((s, m)) = a
        .sentences()
        .find_map(|(s, _)| URL.find(&s.text).map(|m| (s, m.as_str().to_string())))
    {
        o.line("# the first address the prose gives; check it is the policy's own page");
        o.from(s);
        o.line(&format!("url = {}", toml_string(&m)));
    }
    o.blank();

    // ---- [controller]
    o.line("[controller]");
    let company = a.sentences().find_map(|(s, _)| {
        COMPANY
            .captures(&s.text)
            .and_then(|c| c.get(1).or(c.get(2)))
            .map(|m| (s, m.as_str().trim().to_string()))
    });
    match &company {
        Some((s, name)) => {
            o.from(s);
            let name_lang = if crate::text::is_cjk(name.chars().next().unwrap_or('a')) {
                Language::Chinese
            } else {
                Language::English
            };
            o.line(&format!("legal_name = {}", quoted(name_lang, name)));
        }
        None => {
            o.line("# pipl.controller_identity: the prose names no company");
            o.line(&format!(
                "legal_name = {}",
                todo_text("the handler's registered company name")
            ));
        }
    }
    let address = a.find(
        &[],
        &re(r"(?i)\b(?:registered|office|mailing|postal) address\b|注册地址|办公地址|联系地址|通讯地址"),
    );
    if let Some(s) = address {
        o.from(s);
        o.line(&format!("address = {}", quoted(lang, &s.text)));
    }
    // Contacts: every email, phone and web address the prose gives, once each.
    let mut contacts: Vec<(&str, String, &Sentence)> = Vec::new();
    for (s, _) in a.sentences() {
        for m in EMAIL.find_iter(&s.text) {
            contacts.push(("email", m.as_str().trim_end_matches('.').to_string(), s));
        }
        for m in PHONE.find_iter(&s.text) {
            let v: String = m
                .as_str()
                .chars()
                .filter(|c| c.is_ascii_digit() || "+- ".contains(*c))
                .collect();
            contacts.push(("phone", v.trim().to_string(), s));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    contacts.retain(|(_, v, _)| seen.insert(v.to_ascii_lowercase()));
    let web_form = a.find(
        &[],
        &re(r"(?i)\bweb ?form\b|\bonline form\b|\bfeedback (?:page|form|channel)\b|在线客服|意见反馈"),
    );
    if contacts.is_empty() && web_form.is_none() {
        o.line("# pipl.controller_contact: the prose gives no contact channel");
        o.line("[[controller.contacts]]");
        o.line("kind = \"email\"");
        o.line("value = \"TODO@example.invalid\"");
    }
    for (kind, v, s) in &contacts {
        o.line("[[controller.contacts]]");
        o.from(s);
        o.line(&format!("kind = \"{kind}\""));
        o.line(&format!("value = {}", toml_string(v)));
    }
    if let Some(s) = web_form {
        o.line("[[controller.contacts]]");
        o.from(s);
        o.line("kind = \"web\"");
        o.line("# the prose mentions a form but gives no address");
        o.line("value = \"https://TODO.example.invalid/contact\"");
    }
    if let Some(s) = a.find(&[], &OFFICER) {
        o.blank();
        o.line("[controller.protection_officer]");
        o.from(s);
        o.line(&format!(
            "name = {}",
            bilingual(
                "Personal Information Protection Officer",
                "个人信息保护负责人"
            )
        ));
        match EMAIL.find(&s.text) {
            Some(m) => o.line(&format!(
                "contacts = [{{ kind = \"email\", value = {} }}]",
                toml_string(m.as_str())
            )),
            None => o.line(
                "contacts = [{ kind = \"email\", value = \"TODO@example.invalid\" }]  # TODO: the officer's own channel",
            ),
        }
    } else if gap("pipl.pi_protection_officer") {
        o.line("# pipl.pi_protection_officer: the prose names no PI protection officer (needed");
        o.line("# when processing reaches the CAC threshold); add [controller.protection_officer] if so");
    }
    let complaint = a.find(&[], &re(r"(?i)\bcomplain\w*|投诉|举报"));
    match complaint {
        Some(s) => {
            o.line("[[controller.complaint_channels]]");
            o.from(s);
            let (kind, value) = contact_in(&s.text, &contacts);
            o.line(&format!("kind = \"{kind}\""));
            o.line(&format!("value = {}", toml_string(&value)));
        }
        None => {
            o.line("# pipl.complaint_channel: the prose gives no complaint channel");
            o.line("[[controller.complaint_channels]]");
            o.line("kind = \"email\"");
            o.line("value = \"TODO@example.invalid\"");
        }
    }
    o.blank();
    o.line("[law]");
    o.line("profile = \"pipl\"");
    o.line("jurisdictions = [\"CN\"]");
    o.blank();

    // ---- categories
    let mut cats: Vec<(&Lex, &Sentence)> = Vec::new();
    for (s, c) in a.sentences() {
        // A category is drafted only where the prose says it is collected, not
        // wherever it is mentioned (security or rights sentences name data too).
        let collecting = c.has(Practice::Permission) || COLLECT_VERB.is_match(&s.text);
        if !collecting {
            continue;
        }
        for l in CATEGORIES.iter() {
            if l.re.is_match(&s.text) && !cats.iter().any(|(x, _)| x.id == l.id) {
                cats.push((l, s));
            }
        }
    }
    cats.sort_by_key(|(l, _)| CATEGORIES.iter().position(|x| x.id == l.id));
    if cats.is_empty() {
        o.line("# CHECK: the prose names no data category; declare each one collected");
    }
    for (l, s) in &cats {
        let (sensitivity, source, device) = category_kind(l.id);
        o.line("[[categories]]");
        o.from(s);
        o.line(&format!("id = \"{}\"", l.id));
        o.line(&format!("name = {}", bilingual(l.en, l.zh)));
        o.line(&format!("sensitivity = \"{sensitivity}\""));
        o.line(&format!("source = \"{source}\""));
        if device {
            o.line("device_identifier = true");
        }
        o.blank();
    }
    let cat_ids: Vec<&str> = cats.iter().map(|(l, _)| l.id).collect();

    // ---- purposes: one per purpose family the prose states, with the categories
    // named in the same section.
    let mut purposes: Vec<(&Lex, &Sentence, Vec<&str>)> = Vec::new();
    for (s, c) in a.sentences() {
        if !(c.has(Practice::Use) || c.has(Practice::Collection) || c.has(Practice::Sharing)) {
            continue;
        }
        // "advertising identifier" names data, not an advertising purpose.
        let mut plain = s.text.clone();
        for cl in CATEGORIES.iter() {
            plain = cl.re.replace_all(&plain, " ").into_owned();
        }
        for l in PURPOSES.iter() {
            if l.re.is_match(&plain) && !purposes.iter().any(|(x, _, _)| x.id == l.id) {
                let mut used: Vec<&str> = Vec::new();
                for (cl, cs) in &cats {
                    // Sensitive data needs consent under PIPL: never drafted under
                    // the legal-obligation purpose.
                    let sensitive = category_kind(cl.id).0 == "sensitive";
                    let near = a
                        .sentences()
                        .filter(|(x, _)| x.index + 3 >= s.index && x.index <= s.index + 3)
                        .any(|(x, _)| x.index == cs.index || cl.re.is_match(&x.text));
                    if (near || cl.re.is_match(&s.text))
                        && !used.contains(&cl.id)
                        && !(sensitive && l.id == "legal-compliance")
                    {
                        used.push(cl.id);
                    }
                }
                purposes.push((l, s, used));
            }
        }
    }
    let retention_sentence = a.find(&[Practice::Storage], &RETENTION);
    let period = retention_sentence.and_then(|s| retention_period(&s.text));
    for (l, s, used) in &purposes {
        o.line("[[purposes]]");
        o.from(s);
        o.line(&format!("id = \"{}\"", l.id));
        o.line(&format!("name = {}", bilingual(l.en, l.zh)));
        o.line(&format!("description = {}", quoted(lang, &s.text)));
        let basic = matches!(
            l.id,
            "registration"
                | "orders-payment"
                | "customer-service"
                | "security"
                | "legal-compliance"
        );
        o.line(&format!(
            "function = \"{}\"",
            if basic { "basic" } else { "additional" }
        ));
        o.line(&format!(
            "basis = \"{}\"",
            if l.id == "legal-compliance" {
                "legal_obligation"
            } else {
                "consent"
            }
        ));
        if used.is_empty() {
            o.line("categories = []  # TODO: list the categories this purpose uses");
        } else {
            o.line(&format!("categories = {}", id_list(used)));
        }
        match (&period, retention_sentence) {
            (Some(p), Some(rs)) => {
                o.from(rs);
                o.line(&format!("retention = {}", toml_string(p)));
            }
            _ => {
                o.line("# CHECK: the prose states no concrete period; this is the shortest safe reading");
                o.line("retention = \"until purpose-fulfilled\"");
            }
        }
        match l.id {
            "marketing" => o.line("tags = [\"marketing\", \"advertising\"]"),
            "personalisation" => o.line("tags = [\"profiling\"]"),
            _ => {}
        }
        o.blank();
    }
    let purpose_ids: Vec<&str> = purposes.iter().map(|(l, _, _)| l.id).collect();

    // ---- recipients
    let domestic = a.find(&[Practice::Storage], &DOMESTIC);
    for l in RECIPIENTS.iter() {
        let Some(s) = a.find(&[Practice::Sharing], &l.re) else {
            continue;
        };
        o.line("[[recipients]]");
        o.from(s);
        o.line(&format!("id = \"{}\"", l.id));
        o.line(&format!("kind = \"{}\"", recipient_kind(l.id)));
        let used: Vec<&str> = cat_ids
            .iter()
            .copied()
            .filter(|id| {
                CATEGORIES
                    .iter()
                    .any(|c| c.id == *id && c.re.is_match(&s.text))
            })
            .collect();
        let p: Vec<&str> = if l.id == "authorities" {
            purpose_ids
                .iter()
                .copied()
                .filter(|p| *p == "legal-compliance")
                .collect()
        } else {
            Vec::new()
        };
        // The validator accepts empty lists here, so the gap is flagged in the
        // (validated) name; the optional description is left out because the
        // validator does not check it for placeholders.
        if used.is_empty() || p.is_empty() {
            o.line(&format!(
                "name = {}",
                bilingual(
                    &format!(
                        "{} (TODO: list the categories and purposes they receive)",
                        l.en
                    ),
                    &format!("{}（TODO: 列出其接收的信息类别和目的）", l.zh)
                )
            ));
        } else {
            o.line(&format!("name = {}", bilingual(l.en, l.zh)));
        }
        if domestic.is_some() {
            o.line("# assumed from the statement that data is stored in China; change if abroad");
            o.line("country = \"CN\"");
        } else {
            o.line("country = \"TODO\"  # TODO: the recipient's country (ISO code)");
        }
        o.line(&format!("categories = {}", id_list(&used)));
        o.line(&format!("purposes = {}", id_list(&p)));
        o.blank();
    }

    // ---- rights
    o.line("[rights]");
    let deadline = a.sentences().find_map(|(s, c)| {
        if !(c.has(Practice::Rights) || c.has(Practice::Contact) || REPLY.is_match(&s.text)) {
            return None;
        }
        let m = DEADLINE.captures(&s.text)?;
        let (n, unit) = match m.get(1) {
            Some(n) => (n.as_str(), m.get(2).map_or("", |u| u.as_str())),
            None => (&m[3], m.get(4).map_or("", |u| u.as_str())),
        };
        let working = unit.contains("working") || unit.contains("business") || unit == "工作日";
        Some((number(n)?, working, s))
    });
    match deadline {
        Some((days, working, s)) => {
            o.from(s);
            o.line(&format!(
                "deadline = {{ days = {days}, unit = \"{}\", from = \"receipt\" }}",
                if working { "working" } else { "calendar" }
            ));
        }
        None => {
            o.line("# pipl.response_deadline: the prose gives no reply deadline");
            o.line(
                "deadline = { days = 0, unit = \"calendar\", from = \"receipt\" }  # TODO: days",
            );
        }
    }
    o.line("# CHECK: how requesters are verified (one_time_code, account or manual)");
    o.line("verification = \"account\"");
    o.blank();
    let mut any_right = false;
    for l in RIGHTS.iter() {
        let Some(s) = a.find(&[Practice::Rights, Practice::Contact], &l.re) else {
            continue;
        };
        any_right = true;
        o.line("[[rights.offered]]");
        o.from(s);
        o.line(&format!("kind = \"{}\"", l.id));
        let (kind, value) = contact_in(&s.text, &contacts);
        o.line(&format!(
            "channels = [{{ kind = \"{kind}\", value = {} }}]",
            toml_string(&value)
        ));
        o.line(&format!("note = {}", quoted(lang, &s.text)));
        o.blank();
    }
    if !any_right {
        o.line("offered = []  # TODO: the prose offers no rights; list them (PIPL Art.44-50)");
        o.blank();
    }

    // ---- minors
    o.line("[minors]");
    let age_sentence = a.find(&[Practice::SpecialAudience], &AGE);
    let mut ages: Vec<u32> = Vec::new();
    if let Some(s) = age_sentence {
        for c in AGE.captures_iter(&s.text) {
            if let Some(n) = c.get(1).or(c.get(2)).and_then(|m| number(m.as_str())) {
                ages.push(n);
            }
        }
    }
    let child = ages
        .iter()
        .copied()
        .filter(|a| (14..18).contains(a))
        .min()
        .unwrap_or(14);
    let minor = ages
        .iter()
        .copied()
        .filter(|a| *a >= 18)
        .max()
        .unwrap_or(18);
    match age_sentence {
        Some(s) => o.from(s),
        None => o.line("# the prose gives no age; PIPL's ages are drafted"),
    }
    o.line(&format!("child_age = {child}"));
    o.line(&format!("minor_age = {minor}"));
    match a.find(&[Practice::SpecialAudience], &SEPARATE_CONSENT_CHILD) {
        Some(s) => {
            o.from(s);
            o.line("child_rule = \"guardian_consent\"");
        }
        None => {
            o.line("# pipl.children: the prose asks for no guardian consent");
            o.line("child_rule = \"none\"  # TODO: PIPL Art.31 needs the guardian's consent");
        }
    }
    o.line("minor_rule = \"none\"");
    o.blank();

    // ---- changes
    o.line("[changes]");
    match notice {
        Some((n, s)) => {
            o.from(s);
            o.line(&format!("notice_days = {n}"));
        }
        None => {
            o.line("# the prose gives no notice period");
            o.line("notice_days = 0");
        }
    }
    channel_list(
        &mut o,
        &a,
        Practice::PolicyChange,
        "notice_channels",
        "pipl.change_notification: how people are told of changes",
    );
    o.line("significant = []");
    match a.find(&[Practice::PolicyChange], &EXPLICIT_RENEWAL) {
        Some(s) => {
            o.from(s);
            o.line("renewal = \"explicit_accept\"");
        }
        None => o.line("renewal = \"notice\""),
    }
    o.blank();

    // ---- storage
    o.line("[storage]");
    match domestic {
        Some(s) => {
            o.from(s);
            o.line("residency = \"CN\"");
            o.line(&format!(
                "location = {}",
                bilingual(
                    "Within the territory of the People's Republic of China",
                    "中华人民共和国境内"
                )
            ));
        }
        None => o.line("residency = \"TODO\"  # TODO: where the data is stored (ISO code)"),
    }
    match retention_sentence {
        Some(s) if period.is_some() || !gap("pipl.retention_period") => {
            o.from(s);
            o.line(&format!("retention_statement = {}", quoted(lang, &s.text)));
        }
        Some(s) => {
            o.line("# pipl.retention_period: the prose is vague about how long data is kept");
            o.from(s);
            o.line(&format!(
                "retention_statement = {}",
                todo_text("state the concrete retention period")
            ));
        }
        None => {
            o.line("# pipl.retention_period: the prose gives no retention period");
            o.line(&format!(
                "retention_statement = {}",
                todo_text("state the concrete retention period")
            ));
        }
    }
    o.blank();

    // ---- security
    o.line("[security]");
    let mut measures: Vec<(&Lex, &Sentence)> = Vec::new();
    for l in MEASURES.iter() {
        if let Some(s) = a.find(&[Practice::Security], &l.re) {
            measures.push((l, s));
        }
    }
    if measures.is_empty() {
        o.line("measures = []  # TODO: the security measures taken (PIPL Art.51)");
    } else {
        o.line("measures = [");
        for (l, s) in &measures {
            o.s.push_str("  ");
            o.from(s);
            o.line(&format!("  {},", bilingual(l.en, l.zh)));
        }
        o.line("]");
    }
    let breach = a.find(
        &[Practice::Security],
        &re(r"(?i)\bincidents?\b|\bbreach\w*|安全事件|泄露"),
    );
    match breach {
        Some(s) => {
            let chans = channels_in(&s.text);
            o.from(s);
            if chans.is_empty() {
                o.line("breach_channels = []  # TODO: how people are told of a breach");
            } else {
                o.line(&format!("breach_channels = {}", id_list(&chans)));
            }
        }
        None => {
            o.line("# pipl.breach_notification: the prose does not say how people are told of a breach");
            o.line("breach_channels = []  # TODO: how people are told of a breach");
        }
    }
    o.blank();

    // ---- cessation
    if let Some(s) = a.find(&[], &CESSATION) {
        o.line("[cessation]");
        o.from(s);
        o.line("stop_collection = true");
        let chans = channels_in(&s.text);
        if chans.is_empty() {
            o.line("notice_channels = []  # TODO: how people are told the service stops");
        } else {
            o.line(&format!("notice_channels = {}", id_list(&chans)));
        }
        o.line("action = \"delete\"");
        match DEADLINE
            .captures(&s.text)
            .and_then(|m| number(m.get(1).or(m.get(3))?.as_str()))
        {
            Some(n) => o.line(&format!("within_days = {n}")),
            None => o.line("within_days = 0  # TODO: days within which data is deleted"),
        }
        o.blank();
    }

    Draft {
        toml: o.s,
        drafted: o.drafted,
        todos: o.todos,
        gaps,
    }
}

/// The advance notice of changes the prose promises, in days.
fn notice_days<'a>(a: &'a Analysed<'_>) -> Option<(u32, &'a Sentence)> {
    let r = re(
        r"(?i)(\d{1,2}|seven|ten|fifteen|thirty)\s*(?:calendar |working |business )?(?:days?|日|天)\s*(?:in advance|before|prior|前)|(?:提前|at least)\s*(\d{1,2}|seven|ten|fifteen|thirty)\s*(?:个?工作日|日|天|days?)",
    );
    a.sentences().find_map(|(s, c)| {
        if !c.has(Practice::PolicyChange) {
            return None;
        }
        let m = r.captures(&s.text)?;
        let n = number(m.get(1).or(m.get(2))?.as_str())?;
        Some((n, s))
    })
}

/// `YYYY-MM-DD` moved by `days` (proleptic Gregorian; civil-from-days arithmetic).
fn shift_date(date: &str, days: i64) -> String {
    let mut it = date.split('-').map(|x| x.parse::<i64>().unwrap_or(1));
    let (y, m, d) = (
        it.next().unwrap_or(2000),
        it.next().unwrap_or(1),
        it.next().unwrap_or(1),
    );
    // Days since 1970-01-01 (Hinnant's days_from_civil) and back.
    let y0 = if m <= 2 { y - 1 } else { y };
    let era = y0.div_euclid(400);
    let yoe = y0 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let z = era * 146_097 + doe - 719_468 + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

static COLLECT_VERB: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bcollect\w*|\bprovide\b|\bgather\w*|\bobtain\w*|\brecord\w*|\bstore (?:a|small|cookies?)\b|\buse cookies?\b|收集|采集|提供|获取|填写",
    )
});

/// A concrete retention phrase in a sentence ("180 days", "3 years"), if any.
fn retention_period(text: &str) -> Option<String> {
    let c =
        re(r"(?i)(\d{1,4})\s*(days?|weeks?|months?|years?|天|日|周|个月|月|年)").captures(text)?;
    let n: u32 = c[1].parse().ok()?;
    let unit = match &c[2] {
        u if u.starts_with("day") || u == "天" || u == "日" => "days",
        u if u.starts_with("week") || u == "周" => "weeks",
        u if u.starts_with("month") || u.contains('月') => "months",
        _ => "years",
    };
    (n > 0).then(|| format!("{n} {unit}"))
}

/// The channel a sentence points to: its own email/phone/URL, an in-app path, or
/// the policy's first contact; otherwise a `TODO` email.
fn contact_in(text: &str, contacts: &[(&str, String, &Sentence)]) -> (&'static str, String) {
    if let Some(m) = EMAIL.find(text) {
        return ("email", m.as_str().trim_end_matches('.').to_string());
    }
    if let Some(m) = URL.find(text) {
        return ("web", m.as_str().to_string());
    }
    if re(r"(?i)\bsettings?\b|\bmy account\b|\bin the app\b|设置|我的|路径|进入").is_match(text)
    {
        let path: String = text.chars().take(60).collect();
        return ("in_app", path);
    }
    if let Some((k, v, _)) = contacts.first() {
        return (if *k == "phone" { "phone" } else { "email" }, v.clone());
    }
    ("email", "TODO@example.invalid".to_string())
}

fn channels_in(text: &str) -> Vec<&'static str> {
    CHANNELS
        .iter()
        .filter(|(_, r)| r.is_match(text))
        .map(|(c, _)| *c)
        .collect()
}

fn channel_list(o: &mut Out, a: &Analysed<'_>, label: Practice, key: &str, what: &str) {
    let mut chans: Vec<&'static str> = Vec::new();
    let mut src = None;
    for (s, c) in a.sentences() {
        if !c.has(label) {
            continue;
        }
        let found = channels_in(&s.text);
        if !found.is_empty() && src.is_none() {
            src = Some(s);
        }
        for ch in found {
            if !chans.contains(&ch) {
                chans.push(ch);
            }
        }
    }
    if let Some(s) = src {
        o.from(s);
        o.line(&format!("{key} = {}", id_list(&chans)));
    } else {
        o.line(&format!("{key} = []  # TODO: {what}"));
    }
}

fn id_list(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|i| toml_string(i)).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_toml_strings() {
        assert_eq!(toml_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(toml_string("x\ny\u{1}"), "\"x\\ny\\u0001\"");
    }

    #[test]
    fn date_shift() {
        assert_eq!(shift_date("2024-03-08", -7), "2024-03-01");
        assert_eq!(shift_date("2024-03-01", -1), "2024-02-29");
        assert_eq!(shift_date("1999-12-31", 1), "2000-01-01");
    }

    #[test]
    fn retention_phrases() {
        assert_eq!(retention_period("我们将保存6个月"), Some("6 months".into()));
        assert_eq!(
            retention_period("kept for 180 days after"),
            Some("180 days".into())
        );
        assert_eq!(retention_period("a reasonable period"), None);
    }
}
