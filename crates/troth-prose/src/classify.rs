//! Sentence classifier for the twelve CAPP-130 practice labels.
//!
//! Every label decision is explainable: cue rules (keyword/regex sets per label,
//! Chinese and English) fire on the sentence, on its section headings and on a
//! list lead-in ("...in the following cases:"); each hit records its rule id and
//! the matched text. A small linear model over character n-grams and the fired
//! rule ids (trained from CAPP-130 by `examples/train_model.rs`, shipped in the
//! crate) re-weighs the cues; its strongest n-grams are reported as evidence too.

use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::stack::Place;
use crate::{Document, Error, re};

/// A privacy practice label (CAPP-130 taxonomy, 摘要 excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Practice {
    /// 数据收集: information collection.
    Collection,
    /// 权限获取: device permissions.
    Permission,
    /// 共享、委托、转让、公开（披露）: sharing, entrusted processing, transfer, disclosure.
    Sharing,
    /// 使用: use and purposes.
    Use,
    /// 存储方式: storage place and period, cross-border.
    Storage,
    /// 安全措施: security measures and incidents.
    Security,
    /// 特殊人群: minors and other special audiences.
    SpecialAudience,
    /// 数据、权限管理: the person's rights and controls.
    Rights,
    /// 联系方式: contact information.
    Contact,
    /// 隐私政策的授权、修改与变更: authorisation and policy changes.
    PolicyChange,
    /// 停止运营: cessation of operations.
    Cessation,
    /// 潜在风险: potential risks, exceptions and disclaimers.
    Risk,
}

impl Practice {
    /// All twelve practices in a stable order.
    pub const ALL: [Practice; 12] = [
        Practice::Collection,
        Practice::Permission,
        Practice::Sharing,
        Practice::Use,
        Practice::Storage,
        Practice::Security,
        Practice::SpecialAudience,
        Practice::Rights,
        Practice::Contact,
        Practice::PolicyChange,
        Practice::Cessation,
        Practice::Risk,
    ];

    /// Stable machine id, e.g. `sharing`.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Practice::Collection => "collection",
            Practice::Permission => "permission",
            Practice::Sharing => "sharing",
            Practice::Use => "use",
            Practice::Storage => "storage",
            Practice::Security => "security",
            Practice::SpecialAudience => "special_audience",
            Practice::Rights => "rights",
            Practice::Contact => "contact",
            Practice::PolicyChange => "policy_change",
            Practice::Cessation => "cessation",
            Practice::Risk => "risk",
        }
    }

    /// The CAPP-130 Chinese label string.
    #[must_use]
    pub fn label_zh(self) -> &'static str {
        match self {
            Practice::Collection => "数据收集",
            Practice::Permission => "权限获取",
            Practice::Sharing => "共享、委托、转让、公开（披露）",
            Practice::Use => "使用",
            Practice::Storage => "存储方式",
            Practice::Security => "安全措施",
            Practice::SpecialAudience => "特殊人群",
            Practice::Rights => "数据、权限管理",
            Practice::Contact => "联系方式",
            Practice::PolicyChange => "隐私政策的授权、修改与变更",
            Practice::Cessation => "停止运营",
            Practice::Risk => "潜在风险",
        }
    }

    /// Short English name.
    #[must_use]
    pub fn label_en(self) -> &'static str {
        match self {
            Practice::Collection => "collection",
            Practice::Permission => "permissions",
            Practice::Sharing => "sharing, entrusting, transfer, disclosure",
            Practice::Use => "use",
            Practice::Storage => "storage",
            Practice::Security => "security measures",
            Practice::SpecialAudience => "special audiences (minors)",
            Practice::Rights => "rights and controls",
            Practice::Contact => "contact",
            Practice::PolicyChange => "authorisation and policy changes",
            Practice::Cessation => "cessation of operations",
            Practice::Risk => "potential risks",
        }
    }

    /// Position in [`Practice::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Parse a stable id (`sharing`) or a CAPP-130 label (`共享、委托、转让、公开（披露）`).
    ///
    /// # Errors
    /// [`Error::UnknownPractice`] for anything else.
    pub fn parse(s: &str) -> Result<Practice, Error> {
        Practice::ALL
            .into_iter()
            .find(|p| p.id() == s || p.label_zh() == s)
            .ok_or_else(|| Error::UnknownPractice(s.to_string()))
    }
}

/// Where a piece of evidence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    /// In the sentence itself.
    Sentence,
    /// In an enclosing section heading.
    Heading,
    /// In the list lead-in sentence this sentence belongs to.
    LeadIn,
    /// A character n-gram weighted by the linear model.
    Model,
}

/// One rule firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Rule id, e.g. `sharing.zh.verb` or `model.ngram`.
    pub rule: String,
    /// The matched text.
    pub matched: String,
    /// Where it matched.
    pub source: EvidenceSource,
}

/// A practice assigned to a sentence, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelHit {
    /// The practice.
    pub practice: Practice,
    /// Decision score (≥ 0.5 means assigned; rules-only scores are cue weights squashed to 0..1).
    pub score: f32,
    /// True when the sentence negates the practice ("we do not share", "不会收集").
    pub negated: bool,
    /// The rules (and model n-grams) behind the decision.
    pub evidence: Vec<Evidence>,
}

/// Classification of one sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Index of the sentence in the document (or the input line index in line mode).
    pub index: usize,
    /// The sentence text.
    pub text: String,
    /// Assigned practices, in [`Practice::ALL`] order.
    pub labels: Vec<LabelHit>,
}

impl Classification {
    /// True when `p` was assigned.
    #[must_use]
    pub fn has(&self, p: Practice) -> bool {
        self.labels.iter().any(|l| l.practice == p)
    }

    /// The assigned practices.
    #[must_use]
    pub fn practices(&self) -> Vec<Practice> {
        self.labels.iter().map(|l| l.practice).collect()
    }
}

/// A cue rule: a pattern that, when it matches, adds `weight` to a practice.
struct Rule {
    id: &'static str,
    practice: Practice,
    weight: f32,
    re: Regex,
}

use Practice as P;

/// (id, practice, weight, pattern). English patterns are case-insensitive.
/// Text is NFKC-normalised first, so full-width punctuation appears as ASCII.
const RULES: &[(&str, Practice, f32, &str)] = &[
    // --- collection
    ("collection.zh.verb", P::Collection, 1.0, r"收集|采集|搜集"),
    (
        "collection.zh.obtain",
        P::Collection,
        0.6,
        r"获取(?:您|你)?的?[^,。;]{0,12}(?:信息|数据|号码|地址|位置|标识|照片)|记录(?:您|你)的|读取(?:您|你)?的?",
    ),
    (
        "collection.zh.provide",
        P::Collection,
        0.8,
        r"(?:需要|请|须|应当?)(?:您|你)?(?:向我们)?(?:提供|填写|上传|输入|提交)|(?:您|你)(?:需要|需|须|应)?(?:主动)?(?:向我们)?(?:提供|填写|上传|提交)(?:的|您|你)?",
    ),
    (
        "collection.zh.data",
        P::Collection,
        0.35,
        r"个人信息|手机号码?|身份证|姓名|设备信息|日志信息|IMEI|MAC地址|Android ?ID|IDFA|OAID|设备标识|位置信息|订单信息|交易信息|浏览记录|搜索记录|生物识别|人脸|银行卡",
    ),
    (
        "collection.en.verb",
        P::Collection,
        1.0,
        r"(?i)(?-u:\b)(?:collect(?:s|ed|ing|ion)?|gather(?:s|ed|ing)?|obtain(?:s|ed)?)(?-u:\b)",
    ),
    (
        "collection.en.provide",
        P::Collection,
        0.8,
        r"(?i)(?-u:\b)(?:you (?:provide|give|submit|enter|upload)|we receive|automatically (?:record|log|receive)|information (?:you|we) (?:provide|receive))",
    ),
    (
        "collection.en.data",
        P::Collection,
        0.35,
        r"(?i)(?-u:\b)(?:device (?:id|identifier|information)|ip address|imei|mac address|log (?:data|information)|cookies?|email address|phone number|location (?:data|information)|payment information)(?-u:\b)",
    ),
    // --- permission
    ("permission.zh.perm", P::Permission, 1.2, r"权限"),
    (
        "permission.zh.device",
        P::Permission,
        0.7,
        r"相机|摄像头|麦克风|相册|通讯录|通话记录|短信|蓝牙|传感器|陀螺仪|剪切板|剪贴板|日历|存储空间|悬浮窗|NFC|健康数据",
    ),
    (
        "permission.zh.call",
        P::Permission,
        0.6,
        r"调用|开启(?:您|你)?的?(?:设备|手机)?|访问(?:您|你)的(?:设备|相册|通讯录|位置)",
    ),
    (
        "permission.en.perm",
        P::Permission,
        1.2,
        r"(?i)(?-u:\b)permissions?(?-u:\b)",
    ),
    (
        "permission.en.device",
        P::Permission,
        0.7,
        r"(?i)(?-u:\b)(?:camera|microphone|photo library|photos|contacts list|address book|bluetooth|gps|location services|clipboard|calendar|sensors?)(?-u:\b)",
    ),
    // --- sharing
    (
        "sharing.zh.verb",
        P::Sharing,
        1.0,
        r"共享|分享给|委托|转让|公开披露|披露|对外提供|提供给|向第三方提供|授权(?:给)?(?:合作|第三方)",
    ),
    (
        "sharing.zh.party",
        P::Sharing,
        0.6,
        r"第三方|合作伙伴|合作方|关联公司|关联方|关联企业|SDK|服务商|供应商|受托|接收方",
    ),
    (
        "sharing.zh.merger",
        P::Sharing,
        0.8,
        r"合并|收购|分立|重组|破产清算",
    ),
    (
        "sharing.en.verb",
        P::Sharing,
        1.0,
        r"(?i)(?-u:\b)(?:shar(?:e|es|ed|ing)|disclos(?:e|es|ed|ing|ure)|transfer(?:s|red)?|sell|sold|sale of)(?-u:\b)",
    ),
    (
        "sharing.en.party",
        P::Sharing,
        0.6,
        r"(?i)(?-u:\b)(?:third[- ]part(?:y|ies)|partners?|affiliates?|service providers?|vendors?|processors?|recipients?|sdks?)(?-u:\b)",
    ),
    (
        "sharing.en.merger",
        P::Sharing,
        0.8,
        r"(?i)(?-u:\b)(?:merger|acquisition|reorgani[sz]ation|bankruptcy)(?-u:\b)",
    ),
    // --- use
    (
        "use.zh.verb",
        P::Use,
        0.8,
        r"使用(?:您|你)?的?[^,。;]{0,10}(?:信息|数据)|用于|用来|用以|以便|以用于|目的",
    ),
    (
        "use.zh.purpose",
        P::Use,
        0.6,
        r"推荐|个性化|推送|广告|营销|改进|优化|分析|统计|展示|风控|身份验证|验证身份|安全保障|客户服务",
    ),
    ("use.zh.weak", P::Use, 0.3, r"使用|处理"),
    (
        "use.en.verb",
        P::Use,
        0.8,
        r"(?i)(?-u:\b)(?:we use|we may use|used (?:to|for)|use (?:your|this|the|such) (?:personal )?(?:information|data)|purposes?|in order to|process(?:es|ing)? (?:your|personal))(?-u:\b)",
    ),
    (
        "use.en.purpose",
        P::Use,
        0.6,
        r"(?i)(?-u:\b)(?:personali[sz]|recommend|advertis|marketing|improve|analy[sz]|statistic|fraud|verify your)\w*",
    ),
    // --- storage
    (
        "storage.zh.verb",
        P::Storage,
        1.0,
        r"存储|储存|保存|保留|留存",
    ),
    (
        "storage.zh.place",
        P::Storage,
        0.8,
        r"境内|境外|跨境|出境|服务器所在|中华人民共和国境内",
    ),
    (
        "storage.zh.period",
        P::Storage,
        0.8,
        r"期限|期间|时间|最短|超出",
    ),
    (
        "storage.en.verb",
        P::Storage,
        1.0,
        r"(?i)(?-u:\b)(?:stor(?:e|ed|es|ing|age)|retain(?:s|ed)?|retention|keep (?:your|personal|it|them|the)|kept)(?-u:\b)",
    ),
    (
        "storage.en.place",
        P::Storage,
        0.8,
        r"(?i)(?-u:\b)(?:servers? (?:located|in)|outside (?:of )?(?:your|the|mainland)|cross-border|international transfers?|other countries)(?-u:\b)",
    ),
    (
        "storage.en.period",
        P::Storage,
        0.6,
        r"(?i)(?-u:\b)(?:as long as|period|no longer (?:than )?necessary|delete(?:d)? after)(?-u:\b)",
    ),
    // --- security
    (
        "security.zh.measure",
        P::Security,
        1.0,
        r"安全|加密|防护|保护措施|访问控制|去标识化|匿名化|脱敏|防火墙|SSL|HTTPS|TLS|等级保护|ISO ?27001|审计|保密协议|保密义务",
    ),
    (
        "security.zh.incident",
        P::Security,
        1.0,
        r"安全事件|泄露|篡改|毁损|丢失|攻击|应急预案|告知(?:您|你)",
    ),
    (
        "security.en.measure",
        P::Security,
        1.0,
        r"(?i)(?-u:\b)(?:secur(?:e|ity)|encrypt\w*|safeguards?|protect(?:s|ed|ion)?|firewalls?|access controls?|pseudonymi[sz]\w*|anonymi[sz]\w*|confidential\w*)(?-u:\b)",
    ),
    (
        "security.en.incident",
        P::Security,
        1.0,
        r"(?i)(?-u:\b)(?:breach(?:es)?|incidents?|unauthori[sz]ed access|leak\w*)(?-u:\b)",
    ),
    // --- special audience
    (
        "special_audience.zh.minor",
        P::SpecialAudience,
        1.5,
        r"未成年|儿童|[0-9一二十]+周?岁|监护人|父母|青少年|学生|老年",
    ),
    (
        "special_audience.en.minor",
        P::SpecialAudience,
        1.5,
        r"(?i)(?-u:\b)(?:child(?:ren)?|minors?|under the age|parents?|guardians?|teens?|teenagers?|coppa)(?-u:\b)",
    ),
    // --- rights
    (
        "rights.zh.right",
        P::Rights,
        1.0,
        r"访问|查询|查阅|更正|修改(?:您|你)的|删除|注销|撤回|撤销|改变(?:您|你)?授权|复制|导出|转移|拒绝|取消|关闭|退订|管理(?:您|你)的|有权|权利",
    ),
    (
        "rights.zh.path",
        P::Rights,
        0.8,
        r"设置|[我的]-|路径|进入|点击|操作|入口",
    ),
    (
        "rights.en.right",
        P::Rights,
        1.0,
        r"(?i)(?-u:\b)(?:right to|rights|access (?:to )?your|correct(?:ion)?|rectif\w*|delet(?:e|ion)|eras(?:e|ure)|withdraw\w*|opt[- ]out|unsubscribe|portability|object to|restrict\w*|deactivat\w*|close your account|manage your|your choices?|settings)(?-u:\b)",
    ),
    // --- contact
    (
        "contact.zh.contact",
        P::Contact,
        1.0,
        r"联系我们|与我们联系|联系方式|联系电话|客服|邮箱|电子邮件|邮件|电话|热线|地址|邮编|反馈|投诉|举报|个人信息保护负责人|回复|答复|[0-9]+个?(?:工作日|日|天)内",
    ),
    (
        "contact.zh.address",
        P::Contact,
        1.5,
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|(?-u:\b)\d{3,4}-?\d{7,8}(?-u:\b)|(?-u:\b)400-?\d{3}-?\d{4}(?-u:\b)|[省市区路号楼室]{1}[0-9]",
    ),
    (
        "contact.en.contact",
        P::Contact,
        1.0,
        r"(?i)(?-u:\b)(?:contact us|contact (?:our|the)|reach us|write to|e-?mail|phone|telephone|mailing address|postal address|data protection officer|dpo|respond within|reply)(?-u:\b)",
    ),
    (
        "contact.en.address",
        P::Contact,
        1.5,
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    ),
    // --- policy change
    (
        "policy_change.zh.change",
        P::PolicyChange,
        1.0,
        r"(?:本|此|隐私)?(?:政策|协议|指引|声明)[^,。]{0,10}(?:修改|修订|变更|更新)|(?:修改|修订|变更|更新)[^,。]{0,10}(?:政策|协议|指引|声明)|重大变更|重大变化",
    ),
    (
        "policy_change.zh.consent",
        P::PolicyChange,
        0.8,
        r"同意本|同意(?:本|该|上述)?(?:隐私)?政策|继续使用|视为(?:您|你)?(?:同意|接受)|生效|弹窗|公告|通知(?:您|你)",
    ),
    (
        "policy_change.en.change",
        P::PolicyChange,
        1.0,
        r"(?i)(?-u:\b)(?:(?:change|update|amend|modif|revis)\w* (?:to )?(?:this|our|the) (?:privacy )?(?:policy|notice|statement)|(?:policy|notice) (?:may|will) (?:be )?(?:changed|updated|amended)|material changes?|last updated|effective date)(?-u:\b)",
    ),
    (
        "policy_change.en.consent",
        P::PolicyChange,
        0.8,
        r"(?i)(?-u:\b)(?:continue(?:d)? (?:to use|use)|by using|you agree|you accept|notify you)(?-u:\b)",
    ),
    // --- cessation
    (
        "cessation.zh.stop",
        P::Cessation,
        2.0,
        r"停止运营|终止运营|停止(?:提供)?(?:产品|服务)|停止.{0,8}运营",
    ),
    (
        "cessation.en.stop",
        P::Cessation,
        2.0,
        r"(?i)(?-u:\b)(?:ceas(?:e|es|ed|ing) (?:to )?(?:operat|provid|our (?:business|services?))\w*|discontinu\w* (?:our|the) (?:services?|business|operations?)|shut(?:s|ting)? down|wind(?:ing)? up)(?-u:\b)",
    ),
    // --- risk
    (
        "risk.zh.exception",
        P::Risk,
        1.0,
        r"无需(?:事先)?(?:征得|获得|经过)?|例外|除外|不适用|国家安全|国防安全|公共安全|公共卫生|重大公共利益|犯罪侦查|起诉|审判|判决|司法|行政机关|生命|财产|自行(?:向社会)?公开|合法公开|新闻报道",
    ),
    (
        "risk.zh.disclaimer",
        P::Risk,
        1.0,
        r"风险|不可抗力|自行承担|不承担|免责|无法保证|不能保证|无法(?:完全)?(?:避免|确保)|黑客|病毒|谨慎|注意|责任|损失|虚假|泄露",
    ),
    (
        "risk.en.exception",
        P::Risk,
        1.0,
        r"(?i)(?-u:\b)(?:without (?:your )?consent|exceptions?|national security|public (?:safety|health|interest)|law enforcement|legal process|court order|subpoena|criminal)(?-u:\b)",
    ),
    (
        "risk.en.disclaimer",
        P::Risk,
        1.0,
        r"(?i)(?-u:\b)(?:risks?|not responsible|no responsibility|cannot guarantee|can ?not (?:ensure|guarantee)|at your own|no method of transmission|100% secure|liab\w*)(?-u:\b)",
    ),
];

static COMPILED: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|&(id, practice, weight, pattern)| Rule {
            id,
            practice,
            weight,
            re: re(pattern),
        })
        .collect()
});

static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)不会|不得|不予|绝不|从不|并不|不(?:收集|共享|使用|存储|转让|出售|披露|公开)|(?-u:\b)(?:do(?:es)? not|don't|doesn't|never|will not|won't|not)(?-u:\b)",
    )
});

/// Enumerated list item ("(1)", "1.", "a)", "一、", "●"); inherits its lead-in's labels.
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:\(?[0-9]{1,2}[).、,]|\([0-9一二三四五六七八九十a-z]{1,2}\)|[a-z][).、]|[一二三四五六七八九十]+、|[●•·▪■◆\-–]\s*)",
    )
});

/// Raw cue scores for one text: per practice, the summed weight and evidence.
fn cue_scores(text: &str, source: EvidenceSource) -> [(f32, Vec<Evidence>); 12] {
    let mut out: [(f32, Vec<Evidence>); 12] = Default::default();
    for rule in COMPILED.iter() {
        if let Some(m) = rule.re.find(text) {
            let slot = &mut out[rule.practice.index()];
            slot.0 += rule.weight;
            slot.1.push(Evidence {
                rule: rule.id.to_string(),
                matched: m.as_str().to_string(),
                source,
            });
        }
    }
    out
}

/// The classifier. Cheap to clone; rules are compiled once per process.
#[derive(Debug, Clone)]
pub struct Classifier {
    model: Option<Arc<Model>>,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier::new()
    }
}

/// Per-sentence context collected while walking a document in order.
struct Context<'a> {
    headings: Vec<&'a str>,
    lead_in: Option<&'a str>,
    prev: Option<&'a str>,
    extra: crate::model::Extra<'a>,
}

impl Classifier {
    /// The default classifier: cue rules plus the shipped linear n-gram model.
    #[must_use]
    pub fn new() -> Classifier {
        Classifier {
            model: Model::shipped(),
        }
    }

    /// Cue rules only (no learned weights): fully transparent, lower accuracy.
    #[must_use]
    pub fn rules_only() -> Classifier {
        Classifier { model: None }
    }

    /// A classifier using a model in the shipped format (e.g. one trained on a
    /// cross-validation fold); `None` when the bytes do not decode.
    #[doc(hidden)]
    #[must_use]
    pub fn with_model_bytes(bytes: &[u8]) -> Option<Classifier> {
        Model::from_bytes(bytes).map(|m| Classifier {
            model: Some(Arc::new(m)),
        })
    }

    /// True when the learned model is in use.
    #[must_use]
    pub fn uses_model(&self) -> bool {
        self.model.is_some()
    }

    /// Classify every sentence of a document (headings included), using section
    /// headings and list lead-ins as context.
    #[must_use]
    pub fn classify_document(&self, doc: &Document) -> Vec<Classification> {
        let (ctxs, places) = contexts(doc);
        let items: Vec<(usize, &str, Context<'_>)> = ctxs
            .into_iter()
            .map(|(s, ctx)| (s.index, s.text.as_str(), ctx))
            .collect();
        self.classify_all(&items, &places)
    }

    /// "One sentence per line" mode: one result per input line, in order.
    /// Lines are treated as consecutive sentences of one document, so headings
    /// among them give section context.
    #[must_use]
    pub fn classify_lines<S: AsRef<str>>(&self, lines: &[S]) -> Vec<Classification> {
        self.classify_document(&Document::from_lines(lines))
    }

    /// Classify one sentence with no context.
    #[must_use]
    pub fn classify_sentence(&self, text: &str) -> Classification {
        let norm = crate::text::normalize(text);
        let ctx = Context {
            headings: Vec::new(),
            lead_in: None,
            prev: None,
            extra: crate::model::Extra::default(),
        };
        self.classify_all(&[(0, norm.as_str(), ctx)], &[Place::default()])
            .pop()
            .unwrap_or(Classification {
                index: 0,
                text: norm,
                labels: Vec::new(),
            })
    }

    /// Two passes: cue rules and first-stage model scores per sentence, then
    /// (when the model has one) the second stage over the document's context.
    fn classify_all(
        &self,
        items: &[(usize, &str, Context<'_>)],
        places: &[Place],
    ) -> Vec<Classification> {
        let mut cache = CueCache::default();
        let cues: Vec<_> = items
            .iter()
            .map(|(_, text, ctx)| context_cues(text, ctx, &mut cache))
            .collect();
        // The model was trained on Chinese only; English sentences use the cue rules.
        let stage1: Vec<Option<(Vec<crate::model::Feature>, [f32; 12])>> = items
            .iter()
            .zip(&cues)
            .map(|((_, text, ctx), (own, head, lead, prev))| {
                let m = self.model.as_ref().filter(|_| mostly_cjk(text))?;
                let feats = crate::model::features(
                    text,
                    &ctx.headings,
                    ctx.lead_in,
                    *prev,
                    own,
                    head,
                    lead.as_ref(),
                    &ctx.extra,
                );
                let z = m.logits(&feats);
                Some((feats, z))
            })
            .collect();
        let stage2 = self.model.as_ref().and_then(|m| m.stage2());
        let dense = stage2.map(|_| {
            let logits: Vec<Option<[f32; 12]>> =
                stage1.iter().map(|s| s.as_ref().map(|(_, z)| *z)).collect();
            crate::stack::dense(&logits, places)
        });
        items
            .iter()
            .zip(cues)
            .zip(&stage1)
            .enumerate()
            .map(|(k, (((index, text, _), (own, head, lead, _)), s1))| {
                let negated = NEGATION.is_match(text);
                let model_scores: Option<[f32; 12]> = match (s1, self.model.as_ref()) {
                    (Some((_, z)), Some(m)) => Some(match (stage2, dense.as_ref()) {
                        (Some(s2), Some(d)) => {
                            let p = s2.probs(&d[k]);
                            std::array::from_fn(|l| {
                                crate::model::map_threshold(p[l], s2.threshold[l])
                            })
                        }
                        _ => std::array::from_fn(|l| m.stage1_score(z[l], l)),
                    }),
                    _ => None,
                };
                let mut labels = Vec::new();
                for p in Practice::ALL {
                    let i = p.index();
                    let lead_score = lead.as_ref().map_or(0.0, |l| l[i].0);
                    let score = match &model_scores {
                        // An email address or phone number in the sentence itself is
                        // contact information whatever the context features say.
                        Some(ms) if p == Practice::Contact && has_address(&own[i].1) => {
                            ms[i].max(0.5)
                        }
                        Some(ms) => ms[i],
                        None => {
                            let raw =
                                own[i].0 + 0.5 * head[i].0.min(1.5) + 0.6 * lead_score.min(1.5);
                            raw / (raw + threshold_rules(p))
                        }
                    };
                    if score < 0.5 {
                        continue;
                    }
                    let mut evidence = own[i].1.clone();
                    evidence.extend(head[i].1.iter().cloned());
                    if let Some(l) = &lead {
                        evidence.extend(l[i].1.iter().cloned());
                    }
                    if let (Some((feats, _)), Some(m)) = (s1, self.model.as_ref()) {
                        evidence.extend(m.ngram_evidence(text, feats, i));
                        if let Some((block, _)) = stage2
                            .zip(dense.as_ref())
                            .and_then(|(s2, d)| s2.strongest_context(&d[k], i))
                        {
                            evidence.push(Evidence {
                                rule: "model.context".to_string(),
                                matched: block.to_string(),
                                source: EvidenceSource::Model,
                            });
                        }
                    }
                    labels.push(LabelHit {
                        practice: p,
                        score,
                        negated,
                        evidence,
                    });
                }
                Classification {
                    index: *index,
                    text: (*text).to_string(),
                    labels,
                }
            })
            .collect()
    }
}

/// Walk a document in order, attaching heading and lead-in context to each
/// sentence, and its place (section, chapter, heading, lead-in) for the second stage.
fn contexts(doc: &Document) -> (Vec<(&crate::Sentence, Context<'_>)>, Vec<Place>) {
    let sentences = doc.sentences();
    let mut out = Vec::with_capacity(sentences.len());
    let mut places = Vec::with_capacity(sentences.len());
    let mut lead_in: Option<(usize, &str)> = None;
    let mut prev: Option<&str> = None;
    // Sections start at every heading; chapters at the document's top-level
    // headings (the smallest numbering level it uses, e.g. "一、" or "1."),
    // whatever nesting the section paths got.
    let level = |s: &crate::Sentence| {
        crate::split::heading_level(&s.text, None)
            .unwrap_or_else(|| u8::try_from(s.section.len() + 1).unwrap_or(8).min(8))
    };
    let top = sentences
        .iter()
        .filter(|s| s.is_heading)
        .map(level)
        .filter(|l| *l < 9)
        .min();
    let (mut section, mut chapter) = (0usize, 0usize);
    let mut heading: Option<usize> = None;
    #[allow(clippy::cast_precision_loss)] // sentence counts are small
    let total = sentences.len().max(1) as f32;
    for (i, s) in sentences.iter().enumerate() {
        let is_item = LIST_ITEM.is_match(&s.text);
        if s.is_heading || !is_item {
            lead_in = None;
        }
        if s.is_heading && i > 0 {
            section += 1;
            if Some(level(s)) == top {
                chapter += 1;
            }
        }
        places.push(Place {
            section,
            chapter,
            heading,
            lead_in: if is_item {
                lead_in.map(|(k, _)| k)
            } else {
                None
            },
            is_heading: s.is_heading,
            is_item,
        });
        #[allow(clippy::cast_precision_loss)]
        let position = i as f32 / total;
        let ctx = Context {
            headings: s.section.iter().map(String::as_str).collect(),
            lead_in: if is_item {
                lead_in.map(|(_, t)| t)
            } else {
                None
            },
            prev,
            extra: crate::model::Extra {
                prev,
                next: sentences.get(i + 1).map(|n| n.text.as_str()),
                // Position only means something in a whole policy, not a snippet.
                position: (sentences.len() >= 30).then_some(position),
                is_item,
                is_heading: s.is_heading,
                first_under_heading: i > 0 && sentences[i - 1].is_heading,
            },
        };
        out.push((s, ctx));
        prev = Some(&s.text);
        if s.is_heading {
            heading = Some(i);
        }
        if !s.is_heading && s.text.ends_with(':') {
            lead_in = Some((i, &s.text));
        }
    }
    (out, places)
}

/// Model features and places for every sentence of a document (training support).
pub(crate) fn document_features(doc: &Document) -> (Vec<Vec<crate::model::Feature>>, Vec<Place>) {
    let mut cache = CueCache::default();
    let (ctxs, places) = contexts(doc);
    let feats = ctxs
        .into_iter()
        .map(|(s, ctx)| {
            let (own, head, lead, prev) = context_cues(&s.text, &ctx, &mut cache);
            crate::model::features(
                &s.text,
                &ctx.headings,
                ctx.lead_in,
                prev,
                &own,
                &head,
                lead.as_ref(),
                &ctx.extra,
            )
        })
        .collect();
    (feats, places)
}

/// Memo of cue scores per text within one document: headings, lead-ins and
/// previous sentences are looked at many times.
#[derive(Default)]
struct CueCache(std::collections::HashMap<String, Cues>);

impl CueCache {
    fn get(&mut self, text: &str, source: EvidenceSource) -> Cues {
        let cues = self
            .0
            .entry(text.to_string())
            .or_insert_with(|| cue_scores(text, EvidenceSource::Sentence));
        let mut out = cues.clone();
        for (_, ev) in &mut out {
            for e in ev {
                e.source = source;
            }
        }
        out
    }
}

/// Cue scores of the sentence, its nearest headings (weighted), its lead-in
/// and (weights only) the previous sentence.
fn context_cues(
    text: &str,
    ctx: &Context<'_>,
    cache: &mut CueCache,
) -> (Cues, Cues, Option<Cues>, Option<[f32; 12]>) {
    let own = cache.get(text, EvidenceSource::Sentence);
    // Only the nearest two headings matter; outer chapters are too broad.
    let mut head: Cues = Default::default();
    for (depth, h) in ctx.headings.iter().rev().take(2).enumerate() {
        let w = if depth == 0 { 1.0 } else { 0.5 };
        for (i, (s, ev)) in cache
            .get(h, EvidenceSource::Heading)
            .into_iter()
            .enumerate()
        {
            head[i].0 += s * w;
            head[i].1.extend(ev);
        }
    }
    let lead = ctx.lead_in.map(|l| cache.get(l, EvidenceSource::LeadIn));
    let prev = ctx.prev.map(|p| {
        let c = cache.get(p, EvidenceSource::Sentence);
        std::array::from_fn(|i| c[i].0)
    });
    (own, head, lead, prev)
}

/// True when a `contact.*.address` cue (email, phone, street number) fired.
fn has_address(evidence: &[Evidence]) -> bool {
    evidence.iter().any(|e| e.rule.ends_with(".address"))
}

/// At least a third of the letters are CJK.
pub(crate) fn mostly_cjk(text: &str) -> bool {
    let cjk = text.chars().filter(|c| crate::text::is_cjk(*c)).count();
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    cjk * 3 >= letters && cjk > 0
}

/// Cue weight needed for a label in rules-only mode (score 0.5 at this weight).
fn threshold_rules(p: Practice) -> f32 {
    match p {
        Practice::Collection | Practice::Sharing | Practice::Rights => 1.0,
        Practice::Use => 1.1,
        Practice::Storage | Practice::Security | Practice::Risk => 1.0,
        _ => 1.0,
    }
}

/// The ids of all cue rules, e.g. `sharing.zh.verb`.
pub fn rule_ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.0)
}

/// Per-practice cue weight sums with their evidence.
pub(crate) type Cues = [(f32, Vec<Evidence>); 12];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_rules_compile() {
        for &(id, _, _, pattern) in RULES {
            assert!(Regex::new(pattern).is_ok(), "{id}");
        }
        assert!(rule_ids().count() > 40);
    }

    #[test]
    fn ids_roundtrip() {
        for p in Practice::ALL {
            assert_eq!(Practice::parse(p.id()), Ok(p));
            assert_eq!(Practice::parse(p.label_zh()), Ok(p));
        }
    }

    #[test]
    fn rules_fire_in_both_languages() {
        let c = Classifier::rules_only();
        assert!(
            c.classify_sentence("我们会收集您的手机号码。")
                .has(Practice::Collection)
        );
        assert!(
            c.classify_sentence("We do not share your data with third parties.")
                .has(Practice::Sharing)
        );
        assert!(
            c.classify_sentence("We do not share your data with third parties.")
                .labels[0]
                .negated
        );
        assert!(
            c.classify_sentence("当我们停止运营时，我们将通知您。")
                .has(Practice::Cessation)
        );
    }
}
