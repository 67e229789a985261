//! Display words for the manifest's enums and codes, in each language.
//!
//! Keys are `group.value`, where `value` is the snake_case name the manifest uses.

use crate::model::Lang;

/// (key, English, Chinese).
const LABELS: &[(&str, &str, &str)] = &[
    // legal bases
    ("basis.consent", "your consent", "您的同意"),
    (
        "basis.contract",
        "necessary to perform a contract with you",
        "为订立、履行与您的合同所必需",
    ),
    (
        "basis.legal_obligation",
        "necessary to meet a legal obligation",
        "为履行法定职责或者法定义务所必需",
    ),
    (
        "basis.vital_interest",
        "necessary to protect life, health or property in an emergency",
        "紧急情况下为保护自然人的生命健康和财产安全所必需",
    ),
    (
        "basis.public_interest",
        "news reporting or supervision in the public interest",
        "为公共利益实施新闻报道、舆论监督等行为",
    ),
    (
        "basis.publicly_disclosed",
        "information you have made public yourself",
        "处理您自行公开的个人信息",
    ),
    (
        "basis.other_law",
        "other cases provided by law",
        "法律、行政法规规定的其他情形",
    ),
    (
        "basis.legitimate_interest",
        "our legitimate interests",
        "我们的正当利益",
    ),
    // sensitivity
    ("sensitivity.normal", "personal information", "个人信息"),
    (
        "sensitivity.sensitive",
        "sensitive personal information",
        "敏感个人信息",
    ),
    ("sensitivity.forbidden", "never collected", "绝不收集"),
    // sources
    ("source.user", "provided by you", "由您提供"),
    (
        "source.device",
        "collected from your device",
        "从您的设备自动收集",
    ),
    (
        "source.third_party",
        "received from third parties",
        "从第三方间接获取",
    ),
    ("source.derived", "derived by us", "由我们推导生成"),
    // functions
    ("function.basic", "basic function", "基本业务功能"),
    ("function.additional", "additional function", "扩展业务功能"),
    // expiry
    ("expiry.delete", "deleted", "删除"),
    ("expiry.anonymize", "anonymised", "匿名化处理"),
    // contact kinds
    ("contact.email", "Email", "电子邮箱"),
    ("contact.phone", "Phone", "电话"),
    ("contact.web", "Web", "网址"),
    ("contact.post", "Post", "邮寄地址"),
    ("contact.in_app", "In the app", "产品内"),
    ("contact.privacy_center", "Privacy center", "隐私中心"),
    // recipients
    ("recipient.affiliate", "Affiliates", "关联公司"),
    ("recipient.processor", "Entrusted processors", "受托处理者"),
    ("recipient.partner", "Partners", "合作伙伴"),
    (
        "recipient.login_provider",
        "Third-party login providers",
        "第三方登录服务提供者",
    ),
    ("recipient.authority", "Public authorities", "国家机关"),
    // transfer mechanisms
    (
        "mechanism.security_assessment",
        "security assessment by the Cyberspace Administration of China",
        "通过国家网信部门组织的安全评估",
    ),
    (
        "mechanism.certification",
        "personal information protection certification",
        "经专业机构进行个人信息保护认证",
    ),
    (
        "mechanism.standard_contract",
        "standard contract filed with the Cyberspace Administration of China",
        "按照国家网信部门制定的标准合同与境外接收方订立合同",
    ),
    (
        "mechanism.exempt",
        "exempt from assessment, certification and standard contract under the 2024 thresholds",
        "依据2024年规定免予申报安全评估、订立标准合同或认证",
    ),
    ("mechanism.adequacy", "adequacy decision", "充分性认定"),
    (
        "mechanism.standard_contractual_clauses",
        "standard contractual clauses",
        "标准合同条款",
    ),
    (
        "mechanism.binding_corporate_rules",
        "binding corporate rules",
        "有约束力的公司规则",
    ),
    // trackers
    ("tracker.cookie", "Cookie", "Cookie"),
    ("tracker.web_beacon", "Web beacon", "网站信标"),
    ("tracker.pixel", "Pixel tag", "像素标签"),
    ("tracker.local_storage", "Local storage", "本地存储"),
    ("tracker.device_id", "Device identifier", "设备标识符"),
    // rights
    (
        "right.access",
        "Access your personal information",
        "查阅您的个人信息",
    ),
    (
        "right.copy",
        "Obtain a copy, or have it transferred to another handler",
        "获取个人信息副本，或转移至您指定的个人信息处理者",
    ),
    (
        "right.correction",
        "Correct or complete your personal information",
        "更正、补充您的个人信息",
    ),
    (
        "right.deletion",
        "Delete your personal information",
        "删除您的个人信息",
    ),
    (
        "right.withdraw_consent",
        "Withdraw your consent",
        "撤回您的同意",
    ),
    (
        "right.cancel_account",
        "Cancel your account",
        "注销您的账户",
    ),
    (
        "right.explanation",
        "Ask us to explain our processing rules and automated decisions",
        "要求我们解释说明个人信息处理规则及自动化决策",
    ),
    (
        "right.opt_out_targeting",
        "Refuse targeted push and personalised advertising",
        "拒绝定向推送及个性化广告",
    ),
    (
        "right.complaint",
        "Complain or make a suggestion",
        "投诉与建议",
    ),
    (
        "right.restriction",
        "Restrict or refuse processing",
        "限制或拒绝我们处理您的个人信息",
    ),
    // verification
    (
        "verification.one_time_code",
        "a one-time code sent to your email or phone number on file",
        "向您预留的电子邮箱或手机号码发送一次性验证码",
    ),
    (
        "verification.account",
        "signing in to your account",
        "登录您的账户",
    ),
    (
        "verification.manual",
        "a manual check by our staff",
        "由我们的工作人员人工核验",
    ),
    // deadline parts
    ("unit.calendar", "days", "日"),
    ("unit.working", "working days", "个工作日"),
    (
        "from.receipt",
        "of receiving your request",
        "自收到您的请求之日起",
    ),
    (
        "from.verification",
        "of verifying your identity",
        "自完成身份验证之日起",
    ),
    // guardian rules
    (
        "guardian.none",
        "No additional guardian step is needed.",
        "无需额外的监护人步骤。",
    ),
    (
        "guardian.guardian_authorisation",
        "Their guardian must authorise the use of our services.",
        "须经其监护人授权后方可使用我们的服务。",
    ),
    (
        "guardian.guardian_consent",
        "Their guardian must explicitly consent before we process their personal information.",
        "须在取得其监护人明确同意后，我们方可处理其个人信息。",
    ),
    (
        "guardian.blocked",
        "We do not accept them as users.",
        "我们不接受其成为用户。",
    ),
    (
        "evidence.recorded",
        "We keep a record of each guardian consent.",
        "我们会记录每一次监护人同意。",
    ),
    (
        "evidence.written",
        "Guardian consent must be given in writing, and we keep the written consent.",
        "监护人同意须以书面形式作出，我们将留存该书面同意。",
    ),
    // notice channels
    (
        "notice.home_page",
        "a prominent notice on our home page",
        "在首页显著位置公告",
    ),
    ("notice.email", "email", "电子邮件"),
    ("notice.phone", "text message or phone call", "短信或电话"),
    ("notice.push", "push notification", "推送通知"),
    ("notice.letter", "letter", "信函"),
    ("notice.announcement", "public announcement", "公告"),
    ("notice.pop_up", "pop-up window in the app", "应用内弹窗"),
    // renewal
    (
        "renewal.notice",
        "Consent you gave carries over once the change takes effect; you may withdraw it at any time.",
        "变更生效后，您此前作出的同意继续有效；您可随时撤回。",
    ),
    (
        "renewal.explicit_accept",
        "After a significant change, processing that relies on your consent stops until you explicitly accept the new version by clicking \"Agree\".",
        "发生重大变更后，基于您同意的处理活动将暂停，直至您点击“同意”明确接受新版本。",
    ),
    // significance criteria
    (
        "criterion.purpose_type_use",
        "the purpose, type or use of personal information changes",
        "处理个人信息的目的、类型、使用方式等发生变化",
    ),
    (
        "criterion.ownership_structure",
        "our ownership or organisational structure changes",
        "我们的所有权结构、组织架构等发生重大变化",
    ),
    (
        "criterion.sharing_recipients",
        "the main recipients of sharing, transfer or public disclosure change",
        "个人信息共享、转让或公开披露的主要对象发生变化",
    ),
    (
        "criterion.rights_exercise",
        "your rights, or how you exercise them, change",
        "您参与个人信息处理方面的权利及其行使方式发生重大变化",
    ),
    (
        "criterion.contact_complaint",
        "the responsible department, contact details or complaint channels change",
        "负责处理个人信息安全的责任部门、联络方式及投诉渠道发生变化",
    ),
    (
        "criterion.high_risk_assessment",
        "an impact assessment finds a high risk",
        "个人信息安全影响评估报告表明存在高风险",
    ),
    (
        "criterion.other_security_privacy",
        "other changes affect the security of your personal information or your privacy rights",
        "其他可能影响您个人信息安全或隐私权利的变化",
    ),
    // risk
    ("risk.low", "low", "低"),
    ("risk.medium", "medium", "中"),
    ("risk.high", "high", "高"),
    // tags
    ("tag.tracking", "tracking", "跟踪"),
    ("tag.advertising", "advertising", "广告"),
    ("tag.marketing", "marketing", "营销推送"),
    ("tag.sale", "sale of personal information", "出售个人信息"),
    ("tag.profiling", "profiling", "用户画像"),
    (
        "tag.automated_decision",
        "automated decision-making",
        "自动化决策",
    ),
    ("tag.cross_service", "use across our services", "跨服务使用"),
    ("tag.public_disclosure", "public disclosure", "公开披露"),
    ("tag.service_notice", "service notices", "服务通知"),
    (
        "tag.anonymous",
        "available without an account",
        "无需注册即可使用",
    ),
    // retention events
    (
        "event.account-cancelled",
        "you cancel your account",
        "您注销账户",
    ),
    (
        "event.purpose-fulfilled",
        "the purpose is fulfilled",
        "处理目的实现",
    ),
    (
        "event.consent-withdrawn",
        "you withdraw your consent",
        "您撤回同意",
    ),
    ("event.service-ended", "the service ends", "服务终止"),
    // device permissions
    ("permission.location", "location", "位置"),
    ("permission.album", "photo album", "相册"),
    ("permission.photos", "photos", "照片"),
    ("permission.camera", "camera", "相机"),
    ("permission.microphone", "microphone", "麦克风"),
    ("permission.storage", "storage", "存储"),
    ("permission.contacts", "contacts", "通讯录"),
    ("permission.address_book", "address book", "通讯录"),
    ("permission.phone", "phone state", "电话状态"),
    ("permission.bluetooth", "Bluetooth", "蓝牙"),
    ("permission.notifications", "notifications", "通知"),
    ("permission.calendar", "calendar", "日历"),
    ("permission.sms", "text messages", "短信"),
    // countries
    (
        "country.CN",
        "the People's Republic of China",
        "中华人民共和国",
    ),
    ("country.HK", "Hong Kong SAR", "中国香港特别行政区"),
    ("country.SG", "Singapore", "新加坡"),
    ("country.US", "the United States", "美国"),
    ("country.JP", "Japan", "日本"),
    ("country.KR", "South Korea", "韩国"),
    ("country.DE", "Germany", "德国"),
    ("country.IE", "Ireland", "爱尔兰"),
    ("country.GB", "the United Kingdom", "英国"),
    ("country.NL", "the Netherlands", "荷兰"),
    ("country.FR", "France", "法国"),
];

/// The display word for `key` in `lang`; the key itself if it has none, so a missing
/// label shows up in snapshot review rather than vanishing.
pub fn label(lang: Lang, key: &str) -> String {
    LABELS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, en, zh)| match lang {
            Lang::En => (*en).to_owned(),
            Lang::ZhCn => (*zh).to_owned(),
        })
        .unwrap_or_else(|| key.to_owned())
}

/// The display word for `group.value`, or `value` itself where there is none (free
/// values such as country codes and device permissions).
pub fn label_or_value(lang: Lang, group: &str, value: &str) -> String {
    let key = format!("{group}.{value}");
    let l = label(lang, &key);
    if l == key { value.to_owned() } else { l }
}

/// The display word for an enum value, looked up as `group.<snake_case name>`.
pub fn enum_label<T: serde::Serialize>(lang: Lang, group: &str, value: &T) -> String {
    let name = serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    label(lang, &format!("{group}.{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LegalBasis, RightKind};

    #[test]
    fn every_basis_and_right_has_words() {
        for lang in Lang::ALL {
            for b in LegalBasis::ALL {
                assert!(
                    !enum_label(lang, "basis", &b).starts_with("basis."),
                    "{b:?}"
                );
            }
            for r in RightKind::ALL {
                assert!(
                    !enum_label(lang, "right", &r).starts_with("right."),
                    "{r:?}"
                );
            }
            for c in crate::diff::Criterion::ALL {
                assert!(!enum_label(lang, "criterion", &c).starts_with("criterion."));
            }
        }
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = LABELS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len());
    }
}
