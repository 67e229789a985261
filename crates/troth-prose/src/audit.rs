//! Disclosure audit against a law profile (`pipl`, `gdpr`, `ccpa`).
//!
//! Each check looks for sentences that make a required disclosure (cue
//! patterns, Chinese and English) and then asks whether the disclosure is
//! concrete: a number of days for a retention period or a response deadline,
//! an actual mail address or phone number for a contact, a guardian-consent
//! statement for children. The result per check is `present`, `vague` (said but
//! without the concrete value, or with placeholders such as `XXXX`) or `missing`.
//! Risk flags (`flagged`/`clear`) catch known bad patterns.

use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::{Document, Error, Language, re};

/// A law profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Law {
    /// China's Personal Information Protection Law (full checklist).
    Pipl,
    /// EU GDPR, Art. 13 information duties.
    Gdpr,
    /// California CCPA/CPRA notice at collection and privacy policy duties.
    Ccpa,
}

impl Law {
    /// Profile id (`pipl`, `gdpr`, `ccpa`).
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Law::Pipl => "pipl",
            Law::Gdpr => "gdpr",
            Law::Ccpa => "ccpa",
        }
    }

    /// Human name of the law.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Law::Pipl => "Personal Information Protection Law of the PRC (PIPL)",
            Law::Gdpr => "EU General Data Protection Regulation (GDPR) Art. 13",
            Law::Ccpa => "California Consumer Privacy Act as amended by the CPRA (CCPA)",
        }
    }
}

impl FromStr for Law {
    type Err = Error;
    fn from_str(s: &str) -> Result<Law, Error> {
        match s.to_ascii_lowercase().as_str() {
            "pipl" | "cn" => Ok(Law::Pipl),
            "gdpr" | "eu" => Ok(Law::Gdpr),
            "ccpa" | "cpra" => Ok(Law::Ccpa),
            _ => Err(Error::UnknownLaw(s.to_string())),
        }
    }
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The disclosure is made, with a concrete value where one is required.
    Present,
    /// The topic is addressed but without the concrete value, or with placeholders.
    Vague,
    /// Nothing in the document makes the disclosure.
    Missing,
    /// Risk flag raised.
    Flagged,
    /// Risk flag not raised.
    Clear,
}

impl Status {
    /// Lower-case id used in JSON and text.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Vague => "vague",
            Status::Missing => "missing",
            Status::Flagged => "flagged",
            Status::Clear => "clear",
        }
    }
}

/// Kind of check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A required disclosure.
    Disclosure,
    /// A risky statement.
    RiskFlag,
}

/// Where a quoted sentence sits in the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Sentence index in [`Document::sentences`].
    pub sentence: usize,
    /// 1-based line in the input.
    pub line: usize,
    /// Byte range in [`Document::text`].
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
    /// Section path, headings joined with " > ".
    pub section: String,
}

/// A quoted sentence supporting a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The sentence text.
    pub text: String,
    /// Its location.
    pub location: Location,
}

/// Result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id, e.g. `pipl.retention_period`.
    pub rule: String,
    /// Legal reference, e.g. `PIPL Art. 17(1)(2)`.
    pub article: String,
    /// What is required.
    pub title: String,
    /// Disclosure or risk flag.
    pub kind: Kind,
    /// Outcome.
    pub status: Status,
    /// Supporting sentences (at most three).
    pub evidence: Vec<Quote>,
    /// Why this status.
    pub explanation: String,
}

/// Counts per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Disclosures present.
    pub present: usize,
    /// Disclosures vague.
    pub vague: usize,
    /// Disclosures missing.
    pub missing: usize,
    /// Risk flags raised.
    pub flagged: usize,
    /// Number of checks run.
    pub checks: usize,
}

/// A full audit report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Law profile id.
    pub law: Law,
    /// Document language.
    pub language: Language,
    /// Number of sentences examined.
    pub sentences: usize,
    /// Counts.
    pub summary: Summary,
    /// One finding per check, in checklist order.
    pub findings: Vec<Finding>,
}

/// How a check decides "concrete".
#[derive(Clone, Copy)]
enum Need {
    /// Found is enough.
    Mention,
    /// Evidence must also match the given pattern somewhere (same sentence).
    Concrete(&'static str, &'static str),
}

struct Check {
    id: &'static str,
    article: &'static str,
    title: &'static str,
    /// Sentences that address the topic.
    cue: &'static str,
    need: Need,
}

const EMAIL: &str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+";
const CONTACT_VALUE: &str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|(?:\+?\d[\d -]{6,}\d)|https?://\S+|www\.\S+|[市区县路街道号楼室]\s?[0-9]|[0-9]+号|(?i:street|road|avenue|floor|suite|p\.?o\.? box)";
const PLACEHOLDER: &str = r"(?i)XXXX|(?-u:\b)xxx(?-u:\b)|\[\s*\]|＿{2,}|_{3,}|\.\.\.\.|【\s*】";

/// PIPL checklist.
const PIPL: &[Check] = &[
    Check {
        id: "pipl.controller_identity",
        article: "PIPL Art. 17(1)(1)",
        title: "Name of the personal information handler",
        cue: r"(?i)有限公司|有限责任公司|股份公司|集团|(?-u:\b)(?:co\.,? ?ltd|inc\.|limited|llc|pte\.? ltd|b\.v\.|s\.a\.|gmbh|corporation)",
        need: Need::Mention,
    },
    Check {
        id: "pipl.controller_contact",
        article: "PIPL Art. 17(1)(1)",
        title: "Contact details of the handler",
        cue: r"(?i)联系我们|与我们联系|联系方式|联系电话|客服|邮箱|电子邮件|来信|contact us|contact our|reach us|e-?mail us|write to us|customer service|feedback",
        need: Need::Concrete(
            CONTACT_VALUE,
            "no e-mail address, phone number, postal address or URL is actually given",
        ),
    },
    Check {
        id: "pipl.purposes",
        article: "PIPL Art. 17(1)(2)",
        title: "Purposes of processing",
        cue: r"(?i)目的|用于|以便|为了(?:向您|为您|给您)|purposes?|in order to|we use (?:your |the |this )?(?:personal )?(?:information|data) (?:to|for)|used (?:to|for)",
        need: Need::Mention,
    },
    Check {
        id: "pipl.methods",
        article: "PIPL Art. 17(1)(2)",
        title: "Methods of processing (how information is collected and processed)",
        cue: r"(?i)收集方式|自动收集|自动记录|自动获取|cookie|您(?:主动)?(?:提供|填写|上传)|automatically (?:collect|record|log|receive)|you (?:provide|give|submit)|web beacons?|pixel",
        need: Need::Mention,
    },
    Check {
        id: "pipl.categories",
        article: "PIPL Art. 17(1)(2)",
        title: "Categories of personal information processed",
        cue: r"(?i)手机号|姓名|身份证|设备信息|设备型号|IMEI|MAC|位置信息|日志信息|(?-u:\b)(?:name|e-?mail address|phone number|ip address|device (?:id|identifier|information|model)|location|log information|registration information)(?-u:\b)",
        need: Need::Mention,
    },
    Check {
        id: "pipl.retention_period",
        article: "PIPL Art. 17(1)(3), 19",
        title: "Retention period",
        cue: r"(?i)保存期限|存储期限|保留期限|留存期限|保存期间|存储期间|保存(?:您的)?(?:个人)?信息.{0,20}(?:期限|时间)|retention period|retain|keep (?:your|personal)|store (?:your|personal) (?:personal )?(?:information|data) (?:for|until)|period of (?:storage|retention)",
        need: Need::Concrete(
            r"(?i)[0-9一二三四五六七八九十两]+\s*(?:个)?(?:日|天|个?月|年|days?|months?|years?)|注销.{0,12}(?:后|时).{0,12}删除|(?:until|after) you (?:delete|close|cancel) your account",
            "a retention period is mentioned but no concrete duration or criterion is given",
        ),
    },
    Check {
        id: "pipl.rights_exercise",
        article: "PIPL Art. 17(1)(3), 44-50",
        title: "How to exercise rights (access, correction, deletion, withdrawal, account cancellation) and the channel",
        cue: r"(?i)查阅|访问(?:您|你)的|更正|删除(?:您|你)的|注销|撤回|复制|(?-u:\b)(?:access|correct|rectif\w*|delete|erase|withdraw|cancel your account|close your account|update)(?-u:\b)",
        need: Need::Concrete(
            r"(?i)设置|路径|点击|进入|[我的]-|联系我们|客服|邮箱|邮件|电话|settings|contact us|e-?mail|by (?:visiting|clicking|logging)|through (?:the|your)|log ?in|account page|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+",
            "rights are mentioned but no way to exercise them (settings path, contact channel) is given",
        ),
    },
    Check {
        id: "pipl.response_deadline",
        article: "PIPL Art. 50",
        title: "Deadline for answering requests",
        cue: r"(?i)(?:答复|回复|响应|处理|反馈)(?:您的)?(?:请求|申请|要求)?|(?-u:\b)(?:respond|reply|response|answer)(?-u:\b)",
        need: Need::Concrete(
            r"(?i)[0-9一二三四五六七八九十两]+\s*(?:个)?(?:工作日|自然日|日|天|days?|business days|working days)|thirty days|fifteen days|one month",
            "requests are answered \"promptly\"/\"as soon as possible\" without a number of days",
        ),
    },
    Check {
        id: "pipl.complaint_channel",
        article: "PIPL Art. 50, 65",
        title: "Complaint channel (to the handler or an authority)",
        cue: r"(?i)投诉|举报|诉讼|起诉|监管部门|网信|(?-u:\b)(?:complain\w*|supervisory authority|regulator|lawsuit)",
        need: Need::Mention,
    },
    Check {
        id: "pipl.sensitive_data",
        article: "PIPL Art. 17, 30",
        title: "Sensitive personal information: necessity and impact",
        cue: r"(?i)敏感(?:个人)?信息|sensitive (?:personal )?(?:information|data)",
        need: Need::Concrete(
            r"(?i)必要性|必要|影响|necess\w+|impact|effect",
            "sensitive information is mentioned without explaining necessity and impact on the person",
        ),
    },
    Check {
        id: "pipl.sharing_consent",
        article: "PIPL Art. 23",
        title: "Separate consent before providing personal information to another handler",
        cue: r"(?i)共享|对外提供|提供给第三方|(?-u:\b)(?:share|sharing|disclose|provide)(?-u:\b).{0,60}(?:third part|partner|affiliate)",
        need: Need::Concrete(
            r"(?i)单独同意|单独授权|另行(?:征得|获得)|明示同意|明确同意|再次征求|separate(?:ly)? consent|express consent|explicit consent|obtain your consent|with your consent|(?:征得|获得|取得)(?:您的)?(?:授权)?同意",
            "sharing is described without stating that (separate) consent is obtained",
        ),
    },
    Check {
        id: "pipl.public_disclosure",
        article: "PIPL Art. 25",
        title: "Public disclosure only with separate consent",
        cue: r"(?i)公开披露|公开(?:您的)?个人信息|publicly disclos\w*|make (?:it|your (?:personal )?information) public|public disclosure",
        need: Need::Mention,
    },
    Check {
        id: "pipl.cross_border",
        article: "PIPL Art. 38-39",
        title: "Cross-border transfer: recipient, purpose, method, categories, rights; or statement of domestic storage",
        cue: r"(?i)境外|跨境|出境|境内|(?-u:\b)(?:cross-border|outside (?:of )?(?:mainland )?china|outside (?:the )?prc|transfer\w* (?:to|across) (?:other )?(?:countries|jurisdictions)|abroad|overseas|within the territory of|across borders|collected (?:with)?in china)",
        need: Need::Concrete(
            r"(?i)境内|across borders|(?:with)?in china|单独同意|安全评估|标准合同|认证|接收方|single consent|separate consent|security assessment|standard contract|within the (?:territory|people's republic)|stored in (?:mainland )?china|in the people's republic of china",
            "a transfer abroad is mentioned without recipient, mechanism or separate consent",
        ),
    },
    Check {
        id: "pipl.children",
        article: "PIPL Art. 28, 31",
        title: "Children under 14: guardian consent",
        cue: r"(?i)未成年|儿童|14周岁|十四周岁|(?-u:\b)(?:children|child|minors?|under (?:the age of )?1[3-8])(?-u:\b)",
        need: Need::Concrete(
            r"(?i)监护人|父母|家长|guardian|parent",
            "minors are mentioned but guardian consent is not required",
        ),
    },
    Check {
        id: "pipl.automated_decision",
        article: "PIPL Art. 24",
        title: "Automated decision-making / personalised push and how to opt out",
        cue: r"(?i)自动化决策|个性化推荐|个性化推送|定向推送|精准营销|用户画像|画像|(?-u:\b)(?:automated decision|profiling|personali[sz]ed (?:recommendations?|advertising|ads|content)|targeted advertising)",
        need: Need::Concrete(
            r"(?i)关闭|退出|拒绝|不针对|取消|opt[- ]out|turn off|disable|object|refuse|unsubscribe|settings",
            "automated decisions or personalisation are mentioned without a way to refuse them",
        ),
    },
    Check {
        id: "pipl.change_notification",
        article: "PIPL Art. 17(2)",
        title: "Notification of changes to the policy",
        cue: r"(?i)(?:政策|指引|声明).{0,12}(?:变更|更新|修订|修改)|(?:变更|更新|修订|修改).{0,12}(?:政策|指引|声明)|(?-u:\b)(?:chang|updat|amend|modif|revis)\w* (?:to )?(?:this|our|the) (?:privacy )?(?:policy|notice|statement)",
        need: Need::Concrete(
            r"(?i)通知|公告|弹窗|提示|告知|推送|notify|notice|inform|e-?mail|prominent|pop-?up",
            "changes are announced without saying how you will be notified",
        ),
    },
    Check {
        id: "pipl.pi_protection_officer",
        article: "PIPL Art. 52",
        title: "Personal information protection officer",
        cue: r"(?i)个人信息保护负责人|个人信息保护官|个人信息保护专职|数据保护官|个人信息保护(?:机构|部门|团队)|(?:data|personal information|privacy) protection officer|(?-u:\b)dpo(?-u:\b)|chief privacy officer|data commissioner|protection commissioner|person in charge of (?:the business|personal information)|个人信息保护专门负责|专职负责人",
        need: Need::Mention,
    },
    Check {
        id: "pipl.security_measures",
        article: "PIPL Art. 51",
        title: "Security measures",
        cue: r"(?i)加密|安全措施|安全技术|安全防护|去标识化|访问控制|SSL|HTTPS|(?-u:\b)(?:encrypt\w*|security measures|safeguards?|firewall|access control|technical and organi[sz]ational)",
        need: Need::Mention,
    },
    Check {
        id: "pipl.breach_notification",
        article: "PIPL Art. 57",
        title: "Breach notification to individuals and authorities",
        cue: r"(?i)安全事件|泄露|(?-u:\b)(?:security incident|data breach|breach|leak\w*)",
        need: Need::Concrete(
            r"(?i)告知|通知|推送|公告|上报|报告|notify|inform|report",
            "incidents are mentioned without a commitment to notify",
        ),
    },
];

/// GDPR Art. 13 checklist.
const GDPR: &[Check] = &[
    Check {
        id: "gdpr.controller_identity",
        article: "GDPR Art. 13(1)(a)",
        title: "Identity of the controller",
        cue: r"(?i)(?-u:\b)(?:controller|co\.,? ?ltd|inc\.|limited|llc|pte\.? ltd|b\.v\.|s\.a\.|gmbh|corporation)|有限公司",
        need: Need::Mention,
    },
    Check {
        id: "gdpr.controller_contact",
        article: "GDPR Art. 13(1)(a)",
        title: "Contact details of the controller",
        cue: r"(?i)contact us|contact our|reach us|write to us|e-?mail|联系我们",
        need: Need::Concrete(
            CONTACT_VALUE,
            "no address, e-mail or web form is actually given",
        ),
    },
    Check {
        id: "gdpr.dpo_contact",
        article: "GDPR Art. 13(1)(b)",
        title: "Contact details of the data protection officer",
        cue: r"(?i)data protection officer|(?-u:\b)dpo(?-u:\b)|数据保护官",
        need: Need::Concrete(CONTACT_VALUE, "a DPO is mentioned without contact details"),
    },
    Check {
        id: "gdpr.purposes_legal_basis",
        article: "GDPR Art. 13(1)(c)-(d)",
        title: "Purposes and legal basis (incl. legitimate interests)",
        cue: r"(?i)purposes?|we use (?:your )?(?:personal )?(?:information|data)",
        need: Need::Concrete(
            r"(?i)legal bas[ie]s|lawful bas[ie]s|legitimate interests?|performance of (?:a|the|our) contract|legal obligation|article 6|art\. ?6",
            "purposes are given without the legal basis",
        ),
    },
    Check {
        id: "gdpr.recipients",
        article: "GDPR Art. 13(1)(e)",
        title: "Recipients or categories of recipients",
        cue: r"(?i)(?-u:\b)(?:shar\w+|disclos\w+|recipients?)(?-u:\b).{0,80}(?:third part|service providers?|partners?|affiliates?|vendors?|processors?|authorit)",
        need: Need::Mention,
    },
    Check {
        id: "gdpr.transfers",
        article: "GDPR Art. 13(1)(f)",
        title: "Transfers to third countries and safeguards",
        cue: r"(?i)outside (?:of )?(?:the )?(?:eea|european economic area|eu|uk|your country)|international (?:data )?transfers?|third countr|cross-border|transfer\w* .{0,40}(?:countries|jurisdictions)",
        need: Need::Concrete(
            r"(?i)standard contractual clauses|adequacy|binding corporate rules|safeguards|data privacy framework|sccs?",
            "transfers are mentioned without the safeguard relied on",
        ),
    },
    Check {
        id: "gdpr.retention",
        article: "GDPR Art. 13(2)(a)",
        title: "Retention period or criteria",
        cue: r"(?i)retain|retention|keep (?:your|personal)|store (?:your|personal)|as long as",
        need: Need::Concrete(
            r"(?i)[0-9]+\s*(?:days?|months?|years?)|criteria|as long as (?:necessary|needed|your account|you)|until you|no longer (?:than )?(?:necessary|needed)",
            "retention is mentioned without a period or criteria",
        ),
    },
    Check {
        id: "gdpr.rights",
        article: "GDPR Art. 13(2)(b)",
        title: "Rights: access, rectification, erasure, restriction, objection, portability",
        cue: r"(?i)right (?:of|to) (?:access|rectif|erasure|delet|restrict|object|data portability)|your rights|portability",
        need: Need::Concrete(
            r"(?i)portab\w+|object\w*|restrict\w*|rectif\w*|erasure|delet\w*",
            "rights are mentioned without listing them",
        ),
    },
    Check {
        id: "gdpr.withdraw_consent",
        article: "GDPR Art. 13(2)(c)",
        title: "Right to withdraw consent at any time",
        cue: r"(?i)withdraw\w* (?:your )?consent|revoke (?:your )?consent",
        need: Need::Mention,
    },
    Check {
        id: "gdpr.complaint_authority",
        article: "GDPR Art. 13(2)(d)",
        title: "Right to lodge a complaint with a supervisory authority",
        cue: r"(?i)supervisory authority|data protection authority|lodge a complaint|complaint with (?:a|the|your)|regulator",
        need: Need::Mention,
    },
    Check {
        id: "gdpr.automated_decisions",
        article: "GDPR Art. 13(2)(f)",
        title: "Automated decision-making including profiling",
        cue: r"(?i)automated decision|profiling|automated (?:individual )?decision-making|automated means",
        need: Need::Mention,
    },
];

/// CCPA checklist.
const CCPA: &[Check] = &[
    Check {
        id: "ccpa.categories",
        article: "Cal. Civ. Code §1798.100(a), .110",
        title: "Categories of personal information collected",
        cue: r"(?i)categor\w+ of (?:personal )?(?:information|data)|identifiers|internet or (?:other )?(?:electronic )?network activity|geolocation data|we collect",
        need: Need::Mention,
    },
    Check {
        id: "ccpa.sources",
        article: "§1798.110(a)(2)",
        title: "Categories of sources",
        cue: r"(?i)sources?|from (?:third parties|you directly|our partners)|we receive|obtain(?:ed)? from",
        need: Need::Mention,
    },
    Check {
        id: "ccpa.purposes",
        article: "§1798.100(a)(1)",
        title: "Business or commercial purposes",
        cue: r"(?i)business (?:or commercial )?purposes?|commercial purposes?|we use (?:your )?(?:personal )?(?:information|data)|purposes? for which",
        need: Need::Mention,
    },
    Check {
        id: "ccpa.sale_sharing",
        article: "§1798.115, .120",
        title: "Whether personal information is sold or shared",
        cue: r"(?i)(?-u:\b)(?:sell|sold|sale of|selling)(?-u:\b)|share (?:your )?personal information for (?:cross-context )?behavio",
        need: Need::Mention,
    },
    Check {
        id: "ccpa.opt_out",
        article: "§1798.120, .135",
        title: "Right to opt out of sale/sharing (Do Not Sell or Share link, GPC)",
        cue: r"(?i)do not sell|opt[- ]out of (?:the )?(?:sale|sharing|selling|targeted)|global privacy control|(?-u:\b)gpc(?-u:\b)|your privacy choices",
        need: Need::Mention,
    },
    Check {
        id: "ccpa.rights",
        article: "§1798.100-.106, .130",
        title: "Rights to know, delete and correct",
        cue: r"(?i)right to (?:know|delete|correct|access|request)|request (?:to )?(?:delete|access|know|correct)",
        need: Need::Mention,
    },
    Check {
        id: "ccpa.non_discrimination",
        article: "§1798.125",
        title: "Non-discrimination for exercising rights",
        cue: r"(?i)discriminat\w*|retaliat\w*",
        need: Need::Mention,
    },
    Check {
        id: "ccpa.retention",
        article: "§1798.100(a)(3)",
        title: "Retention period per category",
        cue: r"(?i)retain|retention|keep (?:your|personal)|as long as",
        need: Need::Concrete(
            r"(?i)[0-9]+\s*(?:days?|months?|years?)|criteria|as long as (?:necessary|needed|your account|you)|until you",
            "retention is mentioned without a period or criteria",
        ),
    },
    Check {
        id: "ccpa.contact_methods",
        article: "§1798.130(a)(1)",
        title: "Methods for submitting requests (two or more, e.g. toll-free number, web form)",
        cue: r"(?i)submit (?:a )?request|toll-free|web ?form|contact us|e-?mail us|call us",
        need: Need::Concrete(
            CONTACT_VALUE,
            "request methods are mentioned but no address, number or form is given",
        ),
    },
];

struct Flag {
    id: &'static str,
    article: &'static str,
    title: &'static str,
    explanation: &'static str,
}

const FLAGS: &[Flag] = &[
    Flag {
        id: "risk.anonymous_device_ids",
        article: "PIPL Art. 4, 73(4)",
        title: "Device identifiers described as \"anonymous\"",
        explanation: "device identifiers (IMEI, MAC, device ID) can single out a device and are personal information; calling them anonymous misstates the processing",
    },
    Flag {
        id: "risk.bundled_consent",
        article: "PIPL Art. 14, 16",
        title: "Consent inferred from use of the service",
        explanation: "consent must be a specific, informed and voluntary act; using the service is not consent",
    },
    Flag {
        id: "risk.rights_reduced_on_continued_use",
        article: "PIPL Art. 14(2), 16",
        title: "Reduction of rights accepted by continued use",
        explanation: "a material change that reduces the person's rights needs fresh consent, not silence or continued use",
    },
];

static ANON: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)anonymous(?:ly)? (?:collect|gather|obtain)\w*|(?:collect|gather|obtain)\w* (?:\w+ ){0,3}anonymous(?:ly)?|(?:information|data) (?:is|are) anonymous|匿名(?:方式|形式|化)?(?:收集|采集|获取)|(?:收集|采集|获取).{0,12}匿名(?:信息|数据)|(?:信息|数据)(?:均|都)?(?:为|是)匿名",
    )
});
static DEVICE_ID: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)IMEI|IMSI|MAC(?: address|地址)?|IDFA|OAID|Android ?ID|device (?:id|identifier)|unique (?:device |application )?(?:id|identifier)|设备标识|设备识别码|唯一标识|设备ID|application ID",
    )
});
static BUNDLED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:by (?:using|accessing|continuing to use)|once you (?:choose to )?use|your use of)[^.]{0,120}(?:agree|consent|accept|recogni[sz]ed and accepted)|(?:use|using) (?:of )?(?:our|the) (?:services|products|app|website)[^.]{0,60}(?:constitutes|means|signifies|indicates) (?:your )?(?:acceptance|agreement|consent)|continu\w* to use[^.]{0,150}(?:means that you|deemed|you agree|you accept)|使用.{0,20}即(?:视为|表示|代表|意味着).{0,10}(?:同意|接受|认可)|即视为.{0,20}(?:同意|接受)|(?:开始|继续)?使用.{0,20}(?:视为|即表示|即代表|意味着).{0,10}(?:同意|接受|认可)",
    )
});
static REDUCE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)reduc\w*|减少|削减|限制"));
static CONTINUED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)continue\w* (?:to )?us\w*|继续使用|仍然使用|继续访问"));
static AGREE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)agree|bound|accept|consent|视为|同意|接受"));
static PLACEHOLDER_RE: LazyLock<Regex> = LazyLock::new(|| re(PLACEHOLDER));
static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| re(EMAIL));

struct Compiled {
    check: &'static Check,
    cue: Regex,
    concrete: Option<(Regex, &'static str)>,
}

fn compile(list: &'static [Check]) -> Vec<Compiled> {
    list.iter()
        .map(|c| Compiled {
            check: c,
            cue: re(c.cue),
            concrete: match c.need {
                Need::Mention => None,
                Need::Concrete(p, why) => Some((re(p), why)),
            },
        })
        .collect()
}

static PIPL_C: LazyLock<Vec<Compiled>> = LazyLock::new(|| compile(PIPL));
static GDPR_C: LazyLock<Vec<Compiled>> = LazyLock::new(|| compile(GDPR));
static CCPA_C: LazyLock<Vec<Compiled>> = LazyLock::new(|| compile(CCPA));

fn quote(doc: &Document, i: usize) -> Quote {
    let s = &doc.sentences()[i];
    Quote {
        text: s.text.clone(),
        location: Location {
            sentence: i,
            line: s.line,
            start: s.start,
            end: s.end,
            section: s.section.join(" > "),
        },
    }
}

/// Sentence plus (for headings and lead-ins ending in ':') the next sentence,
/// so "Contact us:" followed by the address on the next line counts together.
fn window(doc: &Document, i: usize) -> String {
    let ss = doc.sentences();
    let mut w = ss[i].text.clone();
    if ss[i].is_heading || ss[i].text.ends_with(':') || ss[i].text.chars().count() < 30 {
        for s in ss.iter().skip(i + 1).take(2) {
            w.push(' ');
            w.push_str(&s.text);
        }
    }
    w
}

fn run_check(doc: &Document, c: &Compiled) -> Finding {
    let ss = doc.sentences();
    let hits: Vec<usize> = (0..ss.len())
        .filter(|&i| c.cue.is_match(&ss[i].text))
        .collect();
    let base = |status: Status, evidence: Vec<Quote>, explanation: String| Finding {
        rule: c.check.id.to_string(),
        article: c.check.article.to_string(),
        title: c.check.title.to_string(),
        kind: Kind::Disclosure,
        status,
        evidence,
        explanation,
    };
    if hits.is_empty() {
        return base(
            Status::Missing,
            Vec::new(),
            "no sentence in the document addresses this".to_string(),
        );
    }
    let Some((concrete, why)) = &c.concrete else {
        let placeholder_only = hits.iter().all(|&i| PLACEHOLDER_RE.is_match(&ss[i].text));
        let ev = hits.iter().take(3).map(|&i| quote(doc, i)).collect();
        if placeholder_only {
            return base(
                Status::Vague,
                ev,
                "only placeholder text (e.g. XXXX) is given".to_string(),
            );
        }
        return base(Status::Present, ev, "addressed".to_string());
    };
    // Concrete evidence: the cue sentence (with its short continuation) carries the value,
    // and the value is not a placeholder.
    let mut good = Vec::new();
    let mut placeholder = Vec::new();
    for &i in &hits {
        let w = window(doc, i);
        if concrete.is_match(&w) {
            if PLACEHOLDER_RE.is_match(&ss[i].text) && !EMAIL_RE.is_match(&ss[i].text) {
                placeholder.push(i);
            } else {
                good.push(i);
            }
        }
    }
    if !good.is_empty() {
        let ev = good.iter().take(3).map(|&i| quote(doc, i)).collect();
        return base(
            Status::Present,
            ev,
            "addressed with a concrete value".to_string(),
        );
    }
    let (ev_idx, why) = if placeholder.is_empty() {
        (&hits, (*why).to_string())
    } else {
        (
            &placeholder,
            "the value is a placeholder (XXXX / xxx / ...)".to_string(),
        )
    };
    base(
        Status::Vague,
        ev_idx.iter().take(3).map(|&i| quote(doc, i)).collect(),
        why,
    )
}

fn run_flag(doc: &Document, f: &Flag) -> Finding {
    let ss = doc.sentences();
    let hits: Vec<usize> = match f.id {
        "risk.anonymous_device_ids" => (0..ss.len())
            .filter(|&i| {
                ANON.is_match(&ss[i].text)
                    && ss[i.saturating_sub(8)..=(i + 1).min(ss.len() - 1)]
                        .iter()
                        .any(|s| DEVICE_ID.is_match(&s.text))
            })
            .collect(),
        "risk.bundled_consent" => (0..ss.len())
            .filter(|&i| BUNDLED.is_match(&ss[i].text))
            .collect(),
        _ => (0..ss.len())
            .filter(|&i| {
                let t = &ss[i].text;
                REDUCE.is_match(t) && CONTINUED.is_match(t) && AGREE.is_match(t)
            })
            .collect(),
    };
    let status = if hits.is_empty() {
        Status::Clear
    } else {
        Status::Flagged
    };
    Finding {
        rule: f.id.to_string(),
        article: f.article.to_string(),
        title: f.title.to_string(),
        kind: Kind::RiskFlag,
        status,
        evidence: hits.iter().take(3).map(|&i| quote(doc, i)).collect(),
        explanation: if hits.is_empty() {
            "not found".to_string()
        } else {
            f.explanation.to_string()
        },
    }
}

/// Audit a document against a law profile.
#[must_use]
pub fn audit(doc: &Document, law: Law) -> AuditReport {
    let checks: &[Compiled] = match law {
        Law::Pipl => &PIPL_C,
        Law::Gdpr => &GDPR_C,
        Law::Ccpa => &CCPA_C,
    };
    let mut findings: Vec<Finding> = checks.iter().map(|c| run_check(doc, c)).collect();
    // Risk flags apply under every profile: they describe consent defects all three laws reject.
    findings.extend(FLAGS.iter().map(|f| run_flag(doc, f)));
    let mut summary = Summary {
        checks: findings.len(),
        ..Summary::default()
    };
    for f in &findings {
        match f.status {
            Status::Present => summary.present += 1,
            Status::Vague => summary.vague += 1,
            Status::Missing => summary.missing += 1,
            Status::Flagged => summary.flagged += 1,
            Status::Clear => {}
        }
    }
    AuditReport {
        law,
        language: doc.language(),
        sentences: doc.sentences().len(),
        summary,
        findings,
    }
}

/// All rule ids of a profile (disclosures, then risk flags).
#[must_use]
pub fn rule_ids(law: Law) -> Vec<&'static str> {
    let list = match law {
        Law::Pipl => PIPL,
        Law::Gdpr => GDPR,
        Law::Ccpa => CCPA,
    };
    list.iter()
        .map(|c| c.id)
        .chain(FLAGS.iter().map(|f| f.id))
        .collect()
}

impl AuditReport {
    /// Look up a finding by rule id.
    #[must_use]
    pub fn finding(&self, rule: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.rule == rule)
    }

    /// JSON rendering.
    ///
    /// # Errors
    /// Only if serialisation fails (it does not for this type).
    pub fn render_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Plain-text report: summary, then gaps first (missing, vague, flags), then
    /// what is present, each with article, explanation and quoted evidence.
    #[must_use]
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Privacy policy audit — {}", self.law.name());
        let _ = writeln!(
            s,
            "{} checks on {} sentences: {} present, {} vague, {} missing; {} risk flag(s) raised.\n",
            self.summary.checks,
            self.sentences,
            self.summary.present,
            self.summary.vague,
            self.summary.missing,
            self.summary.flagged
        );
        let order = [
            Status::Missing,
            Status::Vague,
            Status::Flagged,
            Status::Present,
            Status::Clear,
        ];
        for st in order {
            let group: Vec<&Finding> = self.findings.iter().filter(|f| f.status == st).collect();
            if group.is_empty() {
                continue;
            }
            let heading = match st {
                Status::Missing => "MISSING disclosures",
                Status::Vague => "VAGUE disclosures",
                Status::Flagged => "RISK FLAGS",
                Status::Present => "PRESENT disclosures",
                Status::Clear => "Risk flags not raised",
            };
            let _ = writeln!(s, "== {heading} ({})", group.len());
            for f in group {
                let _ = writeln!(
                    s,
                    "[{}] {} — {} ({})",
                    f.status.id().to_uppercase(),
                    f.rule,
                    f.title,
                    f.article
                );
                if st != Status::Clear && st != Status::Present {
                    let _ = writeln!(s, "    {}", f.explanation);
                }
                if st != Status::Clear {
                    for q in f
                        .evidence
                        .iter()
                        .take(if st == Status::Present { 1 } else { 3 })
                    {
                        let text: String = q.text.chars().take(160).collect();
                        let ell = if q.text.chars().count() > 160 {
                            "…"
                        } else {
                            ""
                        };
                        let _ = writeln!(s, "    line {}: \"{text}{ell}\"", q.location.line);
                    }
                }
            }
            s.push('\n');
        }
        s
    }

    /// Minimal standalone HTML rendering (all text escaped).
    #[must_use]
    pub fn render_html(&self) -> String {
        let mut s = String::from(
            "<!doctype html><meta charset=\"utf-8\"><title>Privacy policy audit</title>\n",
        );
        let _ = writeln!(
            s,
            "<h1>Privacy policy audit — {}</h1>",
            escape(self.law.name())
        );
        let _ = writeln!(
            s,
            "<p>{} present, {} vague, {} missing, {} risk flag(s).</p>\n<table border=\"1\"><tr><th>status</th><th>rule</th><th>requirement</th><th>article</th><th>explanation</th><th>evidence</th></tr>",
            self.summary.present, self.summary.vague, self.summary.missing, self.summary.flagged
        );
        for f in &self.findings {
            let ev: Vec<String> = f
                .evidence
                .iter()
                .map(|q| format!("line {}: {}", q.location.line, escape(&q.text)))
                .collect();
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                f.status.id(),
                escape(&f.rule),
                escape(&f.title),
                escape(&f.article),
                escape(&f.explanation),
                ev.join("<br>")
            );
        }
        s.push_str("</table>\n");
        s
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    #[test]
    fn all_patterns_compile() {
        for c in PIPL.iter().chain(GDPR).chain(CCPA) {
            assert!(Regex::new(c.cue).is_ok(), "{}", c.id);
            if let Need::Concrete(p, _) = c.need {
                assert!(Regex::new(p).is_ok(), "{}", c.id);
            }
        }
        for p in [PLACEHOLDER, EMAIL, CONTACT_VALUE] {
            assert!(Regex::new(p).is_ok());
        }
    }

    #[test]
    fn vague_and_present() {
        let doc = Document::from_text(
            "We retain your information for a reasonable period.\nContact us at privacy@example.com.\nWe respond within XXXX days.",
            Format::Text,
        )
        .unwrap();
        let r = audit(&doc, Law::Pipl);
        assert_eq!(
            r.finding("pipl.retention_period").unwrap().status,
            Status::Vague
        );
        assert_eq!(
            r.finding("pipl.controller_contact").unwrap().status,
            Status::Present
        );
        assert_eq!(r.finding("pipl.children").unwrap().status, Status::Missing);
        assert!(r.render_html().contains("&quot;") || r.render_html().contains("<table"));
    }
}
