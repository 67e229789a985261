//! The pages' language: English or Simplified Chinese, chosen by `?lang=`, then the
//! `troth_lang` cookie, then `Accept-Language`; and every interface string in both.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::HeaderMap;
use troth_policy::Lang;

/// Every interface string: key, English, Simplified Chinese.
const STRINGS: &[(&str, &str, &str)] = &[
    ("lang_name", "English", "简体中文"),
    ("other_lang_name", "简体中文", "English"),
    ("skip", "Skip to content", "跳到正文"),
    ("privacy_center", "Privacy center", "隐私中心"),
    ("nav_policy", "Privacy policy", "隐私政策"),
    ("nav_versions", "Earlier versions", "历史版本"),
    ("nav_consents", "My consents", "我的授权"),
    ("nav_requests", "My requests", "我的请求"),
    ("nav_signin", "Sign in", "登录"),
    ("nav_signout", "Sign out", "退出"),
    (
        "footer",
        "Powered by troth. Your choices are recorded with the policy version you saw.",
        "由 troth 提供支持。您的每项选择都会与您当时看到的政策版本一同记录。",
    ),
    ("published", "Published", "发布日期"),
    ("effective", "Effective", "生效日期"),
    ("version", "Version", "版本"),
    ("in_force", "In force", "现行版本"),
    ("archived", "Archived", "已归档"),
    ("significant", "Significant change", "重大变更"),
    ("editorial", "Editorial change", "一般变更"),
    (
        "changed_notice",
        "This policy changed significantly on",
        "本政策已于以下日期发生重大变更：",
    ),
    ("see_changes", "See what changed", "查看变更内容"),
    (
        "upcoming_notice",
        "A new version of this policy takes effect on",
        "本政策的新版本将于以下日期生效：",
    ),
    (
        "versions_title",
        "All versions of this policy",
        "本政策的所有版本",
    ),
    (
        "versions_intro",
        "Every version we have published stays available here, with the date it was published and the date it took effect.",
        "我们发布过的每一个版本都会保留在此处，并注明发布日期与生效日期。",
    ),
    ("read", "Read", "阅读"),
    (
        "compare_previous",
        "Compare with the previous version",
        "与上一版本比较",
    ),
    ("diff_title", "What changed", "变更内容"),
    ("diff_from_to", "Changes from version", "变更：自版本"),
    ("diff_to", "to version", "至版本"),
    (
        "diff_none",
        "The two versions say the same thing.",
        "两个版本内容相同。",
    ),
    ("diff_section", "Section", "章节"),
    ("diff_item", "Item", "条目"),
    ("diff_before", "Before", "变更前"),
    ("diff_after", "After", "变更后"),
    ("diff_why", "Why it matters", "影响"),
    ("kind_added", "Added", "新增"),
    ("kind_removed", "Removed", "删除"),
    ("kind_changed", "Changed", "修改"),
    (
        "rights_reduced",
        "This change reduces your rights.",
        "此变更减少了您的权利。",
    ),
    (
        "needs_consent",
        "This change needs your explicit agreement before we rely on your consent again.",
        "在我们再次依据您的同意处理信息之前，此变更需要您明确同意。",
    ),
    (
        "crit_purpose_type_use",
        "Purpose, type or use of personal information",
        "个人信息的处理目的、类型或使用方式",
    ),
    (
        "crit_ownership_structure",
        "Ownership or organisation",
        "所有权结构或组织架构",
    ),
    (
        "crit_sharing_recipients",
        "Who receives your information",
        "个人信息的共享、转让或公开披露对象",
    ),
    (
        "crit_rights_exercise",
        "Your rights and how to exercise them",
        "您的权利及行使方式",
    ),
    (
        "crit_contact_complaint",
        "Contacts and complaint channels",
        "负责部门、联系方式及投诉渠道",
    ),
    (
        "crit_high_risk_assessment",
        "A high-risk impact assessment",
        "安全影响评估显示存在高风险",
    ),
    (
        "crit_other_security_privacy",
        "Other changes to security or privacy",
        "其他影响个人信息安全或权利的变更",
    ),
    (
        "signin_title",
        "Sign in to your privacy center",
        "登录隐私中心",
    ),
    (
        "signin_intro",
        "Enter the email address or mobile number you use with us. We will send you a six-digit code; no password is needed.",
        "请输入您在我们这里使用的电子邮箱地址或手机号码。我们会向您发送一个六位验证码，无需密码。",
    ),
    ("email", "Email address", "电子邮箱"),
    ("or_phone", "Or your mobile number", "或手机号码"),
    ("phone", "Mobile number", "手机号码"),
    (
        "sms_off",
        "Sign-in by text message is not available here; use your email address.",
        "此处未开通短信登录，请使用电子邮箱。",
    ),
    (
        "phone_invalid",
        "Enter a mobile number, like +86 138 0013 8000.",
        "请输入有效的手机号码，例如 +86 138 0013 8000。",
    ),
    ("send_code", "Email me a code", "发送验证码"),
    ("send_signin_code", "Send me a code", "发送验证码"),
    ("code_title", "Enter your code", "输入验证码"),
    (
        "code_sent",
        "If this address belongs to an account, we have sent a six-digit code to it. It is valid for 15 minutes.",
        "如果该地址已关联账户，我们已向其发送六位验证码，15 分钟内有效。",
    ),
    ("code", "Six-digit code", "六位验证码"),
    ("verify", "Verify", "验证"),
    (
        "code_wrong",
        "That code is not right. Attempts left:",
        "验证码不正确。剩余尝试次数：",
    ),
    (
        "code_gone",
        "No valid code is pending. Ask for a new one.",
        "没有有效的验证码，请重新获取。",
    ),
    ("start_again", "Start again", "重新开始"),
    (
        "mail_off",
        "Sign-in by email is not available on this server.",
        "本服务器未启用邮件登录。",
    ),
    (
        "email_invalid",
        "Enter an email address, like name@example.com.",
        "请输入有效的电子邮箱地址，例如 name@example.com。",
    ),
    ("consents_title", "Your consents", "您的授权"),
    (
        "consents_intro",
        "Each purpose below says what we use, who receives it and where it goes. You can give or withdraw consent at any time; withdrawing is as easy as giving and does not affect processing before it.",
        "以下每一项处理目的都说明了我们使用哪些信息、提供给谁以及传输到哪里。您可以随时同意或撤回同意；撤回与同意同样便捷，且不影响撤回前基于同意已进行的处理。",
    ),
    ("basic", "Basic function", "基本业务功能"),
    ("additional", "Additional function", "扩展业务功能"),
    (
        "basic_help",
        "The service needs these to work.",
        "服务运行所必需。",
    ),
    (
        "additional_help",
        "Optional. Refusing them never blocks the basic service.",
        "可选。拒绝不会影响基本服务的使用。",
    ),
    ("uses", "What it uses", "使用的信息"),
    ("optional_uses", "Optional information", "可选信息"),
    ("recipients", "Who receives it", "接收方"),
    (
        "destinations",
        "Cross-border destinations",
        "跨境传输目的地",
    ),
    ("none", "None", "无"),
    ("status", "Status", "状态"),
    ("st_given", "Consent given", "已同意"),
    ("st_withdrawn", "Consent withdrawn", "已撤回"),
    ("st_refused", "Refused", "已拒绝"),
    ("st_expired", "Expired", "已过期"),
    ("st_none", "Not yet decided", "尚未选择"),
    ("give", "Give consent", "同意"),
    ("withdraw", "Withdraw consent", "撤回同意"),
    (
        "not_consent",
        "Not based on consent; legal basis:",
        "不以同意为依据；法律依据：",
    ),
    ("basis_consent", "consent", "同意"),
    (
        "basis_contract",
        "performing a contract with you",
        "履行合同所必需",
    ),
    (
        "basis_legal_obligation",
        "a legal obligation",
        "履行法定义务",
    ),
    (
        "basis_vital_interests",
        "protecting life or health",
        "保护生命健康",
    ),
    ("basis_public_interest", "public interest", "公共利益"),
    (
        "basis_legitimate_interest",
        "legitimate interest",
        "正当利益",
    ),
    ("basis_news_reporting", "news reporting", "新闻报道"),
    ("basis_public_data", "already public data", "已公开的信息"),
    (
        "basis_hr_management",
        "human-resources management",
        "人力资源管理",
    ),
    (
        "saved",
        "Saved. Your choice is recorded.",
        "已保存，您的选择已记录。",
    ),
    (
        "reconsent_needed",
        "Our policy changed significantly. Please review the changes and agree to continue.",
        "我们的隐私政策发生了重大变更，请查看变更内容并同意后继续。",
    ),
    ("review", "Review the changes", "查看变更"),
    (
        "reconsent_title",
        "Please review our updated policy",
        "请查看更新后的隐私政策",
    ),
    (
        "reconsent_intro",
        "We changed our privacy policy in ways that matter to you. The changes are highlighted below. Until you agree, we will not rely on consents you gave under the earlier version for the changed purposes.",
        "我们对隐私政策作出了对您有重要影响的变更，变更内容已在下方突出显示。在您同意之前，对于发生变更的处理目的，我们不会依据您在旧版本下给予的同意进行处理。",
    ),
    ("agree", "Agree", "同意"),
    (
        "agreed",
        "Thank you. Your agreement to this version is recorded.",
        "谢谢，您对该版本的同意已记录。",
    ),
    (
        "already_agreed",
        "You have agreed to the version in force.",
        "您已同意现行版本。",
    ),
    ("requests_title", "Your requests", "您的请求"),
    (
        "requests_intro",
        "Exercise your rights here. We answer within the deadline the policy sets, and you can follow each request's status.",
        "您可以在此行使您的权利。我们将在政策规定的期限内答复，您可以随时查看每项请求的进度。",
    ),
    ("new_request", "Make a request", "提出请求"),
    ("submit", "Submit request", "提交请求"),
    (
        "choose_kind",
        "What would you like to do?",
        "您希望做什么？",
    ),
    (
        "no_requests",
        "You have not made any requests yet.",
        "您尚未提出任何请求。",
    ),
    (
        "rq_access",
        "See the personal information you hold about me",
        "查阅我的个人信息",
    ),
    (
        "rq_copy",
        "Get a copy of my personal information",
        "获取我的个人信息副本",
    ),
    (
        "rq_correction",
        "Correct or complete my information",
        "更正或补充我的个人信息",
    ),
    (
        "rq_deletion",
        "Delete my personal information",
        "删除我的个人信息",
    ),
    ("rq_withdraw_consent", "Withdraw my consent", "撤回我的同意"),
    ("rq_cancel_account", "Cancel my account", "注销我的账户"),
    (
        "rq_explanation",
        "Explain how my information is processed",
        "解释个人信息处理规则",
    ),
    (
        "rq_opt_out_targeting",
        "Stop targeted push and advertising",
        "拒绝定向推送与广告",
    ),
    (
        "rq_complaint",
        "Make a complaint or suggestion",
        "投诉或建议",
    ),
    (
        "choose_kind_help",
        "What would you like to do? Open one; each form asks only for what that request needs.",
        "您希望做什么？请展开相应的一项，每张表单只询问该请求所需的信息。",
    ),
    (
        "form_problems",
        "Please check the field marked below; nothing was submitted.",
        "请检查下方标出的项目，请求尚未提交。",
    ),
    (
        "correction_nothing",
        "We hold no stored information about you that could be corrected here. To complete your information, contact us through the channels in the policy.",
        "我们没有存储可在此更正的您的个人信息。如需补充信息，请通过隐私政策中列明的渠道联系我们。",
    ),
    (
        "withdraw_nothing",
        "You have no consent in force to withdraw. You can see every purpose under My consents.",
        "您目前没有可撤回的同意。您可以在“我的授权”中查看全部处理目的。",
    ),
    (
        "correction_record",
        "Information to correct",
        "需要更正的信息",
    ),
    ("correction_choose", "Choose…", "请选择…"),
    ("correction_value", "The correct value", "正确的内容"),
    (
        "correction_value_help",
        "It is kept encrypted and replaces the current value once we complete your request; it is not shown on the request.",
        "该内容将加密保存，并在我们完成请求后替换现有内容；请求页面不会显示该内容。",
    ),
    ("withdraw_which", "Consents to withdraw", "要撤回的同意"),
    (
        "copy_where",
        "Where should the copy go?",
        "副本发送到哪里？",
    ),
    ("copy_to_me", "To me, as a download", "发给我本人（下载）"),
    (
        "copy_to_third_party",
        "Directly to another company",
        "直接传输给其他公司",
    ),
    (
        "copy_third_party",
        "Company to receive the copy",
        "接收副本的公司",
    ),
    ("copy_choose", "Choose…", "请选择…"),
    (
        "copy_third_party_help",
        "Only companies we can deliver to securely are listed. You can still download your own copy.",
        "此处只列出我们能够安全传输的公司。您仍可下载自己的副本。",
    ),
    (
        "copy_no_third_party",
        "You will be able to download the copy here. Sending it directly to another company is not available.",
        "您可以在此下载副本。目前无法直接传输给其他公司。",
    ),
    (
        "err_record",
        "Choose one of the items of information we hold about you.",
        "请从我们持有的您的信息中选择一项。",
    ),
    (
        "err_value",
        "Type the correct value (1 to 65,536 bytes).",
        "请输入正确的内容（1 至 65536 字节）。",
    ),
    (
        "err_purposes",
        "Choose only purposes listed here.",
        "请只选择此处列出的处理目的。",
    ),
    (
        "err_purposes_none",
        "Choose at least one consent to withdraw.",
        "请至少选择一项要撤回的同意。",
    ),
    (
        "err_third_party",
        "Choose one of the listed companies, or have the copy sent to you.",
        "请选择列出的公司之一，或选择将副本发给您本人。",
    ),
    (
        "err_kind",
        "This request is not offered under the policy in force.",
        "现行政策未提供此类请求。",
    ),
    ("asked_title", "What was asked", "请求内容"),
    (
        "asked_corrections",
        "Information to correct",
        "需要更正的信息",
    ),
    (
        "asked_value_hidden",
        "(the new value is not shown)",
        "（不显示新内容）",
    ),
    ("asked_purposes", "Consents to withdraw", "要撤回的同意"),
    ("asked_third_party", "Copy sent to", "副本接收方"),
    ("result_title", "What we did", "处理结果"),
    ("result_corrected", "We corrected:", "我们已更正："),
    (
        "result_withdrawn",
        "Your consent is withdrawn for:",
        "您已撤回对以下处理目的的同意：",
    ),
    (
        "result_withdrawn_none",
        "There was no consent in force to withdraw.",
        "没有可撤回的同意。",
    ),
    (
        "result_opted_out",
        "Targeted push and advertising are turned off for you.",
        "已为您关闭定向推送与广告。",
    ),
    (
        "result_transferred",
        "A copy of your information was sent to",
        "您的个人信息副本已发送至",
    ),
    ("result_answer", "Their answer", "对方答复"),
    ("result_size", "Size", "大小"),
    ("result_bytes", "bytes", "字节"),
    ("result_checksum", "Checksum (SHA-256)", "校验值（SHA-256）"),
    (
        "result_purposes",
        "How your information is processed",
        "您的个人信息如何被处理",
    ),
    ("result_basis", "legal basis:", "法律依据："),
    (
        "result_decisions",
        "Automated decisions about you",
        "关于您的自动化决策",
    ),
    ("result_allowed", "Allowed", "允许"),
    ("result_refused", "Refused", "拒绝"),
    ("result_reasons", "Reasons:", "原因："),
    (
        "result_no_decisions",
        "No automated decision about you was kept.",
        "没有保存关于您的自动化决策。",
    ),
    ("received", "Received", "收到日期"),
    ("due", "Due by", "答复期限"),
    (
        "not_yet",
        "Starts once your identity is verified",
        "身份验证后开始计算",
    ),
    ("rs_received", "Received", "已收到"),
    ("rs_verifying", "Verifying your identity", "身份验证中"),
    ("rs_in_progress", "In progress", "处理中"),
    ("rs_extended", "In progress (extended)", "处理中（已延期）"),
    ("rs_completed", "Completed", "已完成"),
    ("rs_refused", "Refused", "已拒绝"),
    ("timeline", "Timeline", "处理记录"),
    (
        "verify_needed",
        "Before we act, we need to confirm it is you. We will email a six-digit code to the address on your account.",
        "在处理之前，我们需要确认是您本人。我们会向您账户绑定的邮箱发送六位验证码。",
    ),
    (
        "verify_sent",
        "We have emailed a code to",
        "我们已将验证码发送至",
    ),
    ("resend", "Send a new code", "重新发送验证码"),
    ("request_detail", "Request", "请求"),
    (
        "export_later",
        "When an export is ready, it will appear here.",
        "导出文件准备好后将在此处提供下载。",
    ),
    ("export_download", "Download your data", "下载您的数据"),
    (
        "export_note",
        "A zip with your data as JSON, CSV and a readable page. Each click prepares a fresh copy; each link works once, within 24 hours.",
        "一个压缩包，包含 JSON、CSV 格式的数据和一个可阅读的页面。每次点击都会生成新的副本；每个链接仅可使用一次，24 小时内有效。",
    ),
    ("back", "Back", "返回"),
    ("error_title", "Something went wrong", "出错了"),
    (
        "csrf_failed",
        "This form has expired or did not come from this site. Go back, reload the page and try again.",
        "表单已过期或并非来自本站。请返回并刷新页面后重试。",
    ),
    ("not_found", "There is nothing here.", "此页面不存在。"),
    (
        "no_policy",
        "This organisation has not published a privacy policy yet.",
        "该组织尚未发布隐私政策。",
    ),
    (
        "server_error",
        "The server could not complete the request; nothing was changed.",
        "服务器无法完成该请求，未作任何更改。",
    ),
    (
        "cmd_start_verification",
        "Identity check started",
        "开始身份验证",
    ),
    ("cmd_verified", "Identity verified", "身份已验证"),
    ("cmd_start", "Work started", "开始处理"),
    ("cmd_extend", "Deadline extended", "延长期限"),
    ("cmd_complete", "Completed", "已完成"),
    ("cmd_refuse", "Refused", "已拒绝"),
    ("cmd_receive", "Request received", "收到请求"),
    ("guardian_title", "Consent for your child", "为您的孩子授权"),
    (
        "guardian_intro",
        "You are the guardian of these accounts. Below the age the policy sets, processing that needs consent needs yours; each decision is recorded as given by you on the child's behalf.",
        "您是以下账户的监护人。未达到政策规定年龄的儿童，其需要同意的个人信息处理须经您同意；每项选择都会记录为由您代表儿童作出。",
    ),
    ("child", "Child account", "儿童账户"),
    ("sec_policy", "The document", "政策文件"),
    ("sec_controller", "Who is responsible", "个人信息处理者"),
    ("sec_law", "Applicable law", "适用法律"),
    (
        "sec_categories",
        "Kinds of personal information",
        "个人信息类别",
    ),
    ("sec_purposes", "Purposes", "处理目的"),
    ("sec_recipients", "Recipients", "接收方"),
    ("sec_transfers", "Cross-border transfers", "跨境传输"),
    ("sec_sdks", "Third-party SDKs", "第三方SDK"),
    ("sec_trackers", "Cookies and trackers", "Cookie及同类技术"),
    (
        "sec_exemptions",
        "Processing without consent",
        "无需同意的情形",
    ),
    (
        "sec_disclosure_bases",
        "When data may be disclosed",
        "可披露的情形",
    ),
    ("sec_rights", "Your rights", "您的权利"),
    (
        "sec_refusal_reasons",
        "Reasons a request may be refused",
        "拒绝请求的理由",
    ),
    (
        "sec_hold_reasons",
        "Legal reasons to keep data",
        "依法保留的理由",
    ),
    ("sec_minors", "Children and minors", "儿童与未成年人"),
    ("sec_changes", "How this policy changes", "政策更新"),
    ("sec_storage", "Storage", "存储"),
    ("sec_security", "Security", "安全措施"),
    ("sec_cessation", "If we stop operating", "停止运营"),
    ("sec_assessments", "Impact assessments", "影响评估"),
    ("sec_services", "Services", "服务"),
    ("c_console", "Admin console", "管理控制台"),
    ("c_requests", "Request queue", "请求队列"),
    ("c_stats", "Consent statistics", "同意统计"),
    ("c_policies", "Policy versions", "政策版本"),
    ("c_audit", "Audit log", "审计日志"),
    ("c_signin_title", "Sign in to the console", "登录管理控制台"),
    (
        "c_signin_intro",
        "Paste an API key with the admin or operator role. The key is exchanged for a session; it is not stored in your browser.",
        "请粘贴角色为 admin 或 operator 的 API 密钥。密钥将换取会话凭证，不会保存在浏览器中。",
    ),
    ("c_api_key", "API key", "API 密钥"),
    ("c_open", "Open", "未结"),
    ("c_overdue", "Overdue", "已逾期"),
    ("c_all", "All", "全部"),
    (
        "c_overdue_count",
        "request(s) are overdue.",
        "项请求已逾期。",
    ),
    ("c_time_left", "Time left", "剩余时间"),
    ("c_kind", "Kind", "类型"),
    ("c_open_request", "Open", "打开"),
    ("c_no_requests", "No requests here.", "暂无请求。"),
    ("c_request_id", "Request id", "请求编号"),
    ("c_subject", "Subject", "主体"),
    ("c_channel", "Channel", "渠道"),
    ("c_actions", "Actions", "操作"),
    ("c_closed", "This request is closed.", "该请求已关闭。"),
    ("c_send_code", "Email the person a code", "向本人发送验证码"),
    ("c_mark_verified", "Identity verified", "确认身份已验证"),
    ("c_outcome", "Outcome", "处理结果"),
    ("c_fulfilled", "Carried out in full", "已全部完成"),
    (
        "c_nothing_held",
        "No personal information held",
        "未持有个人信息",
    ),
    (
        "c_with_holds",
        "Carried out, except data under a legal hold",
        "已完成（依法保留的数据除外）",
    ),
    ("c_hold", "Hold reason", "保留理由"),
    ("c_complete", "Complete request", "完成请求"),
    ("c_extend_reason", "Extension reason", "延期理由"),
    ("c_ext_complexity", "The request is complex", "请求较为复杂"),
    (
        "c_ext_number",
        "Many requests from this person",
        "该用户请求数量较多",
    ),
    (
        "c_ext_necessary",
        "Otherwise reasonably necessary",
        "其他合理必要情形",
    ),
    (
        "c_refuse_reason",
        "Refusal reason (from the policy)",
        "拒绝理由（依据政策）",
    ),
    ("c_refuse", "Refuse request", "拒绝请求"),
    (
        "c_subjects_with_events",
        "subjects with consent records",
        "个有授权记录的主体",
    ),
    (
        "c_accepted_current",
        "accepted the version in force",
        "已同意现行版本",
    ),
    ("c_purpose", "Purpose", "处理目的"),
    ("c_rate", "Consent rate", "同意率"),
    ("c_published_ok", "Published.", "已发布。"),
    ("c_preview", "Preview", "预览"),
    ("c_diff", "Diff", "差异"),
    ("c_upload", "Upload a new version", "上传新版本"),
    (
        "c_upload_intro",
        "Paste the manifest. It is checked first; you see every problem with its line, or a preview and the changes before you publish.",
        "请粘贴政策清单。系统会先行校验：您将看到每个问题及其所在行，或在发布前看到预览与变更内容。",
    ),
    ("c_validate", "Validate", "校验"),
    ("c_validation", "Validation", "校验结果"),
    (
        "c_problems",
        "problem(s) — nothing was published",
        "个问题——未发布任何内容",
    ),
    ("c_line", "line", "行"),
    ("c_valid", "The manifest is valid.", "清单校验通过。"),
    (
        "c_publish_intro",
        "Publishing makes this version public; it takes effect on its effective date.",
        "发布后该版本将公开，并于生效日期起生效。",
    ),
    ("c_publish", "Publish", "发布"),
    (
        "c_admin_only",
        "Only admin keys may publish.",
        "仅 admin 密钥可以发布。",
    ),
    ("c_edit_again", "Edit and validate again", "修改后重新校验"),
    ("c_verify_chain", "Verify chain", "校验哈希链"),
    ("c_chain_ok", "The chain is intact:", "哈希链完整："),
    (
        "c_chain_bad",
        "The chain is broken at entry",
        "哈希链在以下条目处断裂：",
    ),
    ("c_entries", "entries", "条记录"),
    (
        "c_checkpoints",
        "signed checkpoints verified",
        "个签名检查点已验证",
    ),
    ("c_time", "Time", "时间"),
    ("c_actor", "Actor", "操作者"),
    ("c_action", "Action", "操作"),
    ("c_target", "Target", "对象"),
    ("c_detail", "Detail", "详情"),
    ("c_next", "Next page", "下一页"),
    ("c_extend", "Extend the deadline", "延长答复期限"),
    (
        "c_start_verification",
        "Start the identity check",
        "开始身份验证",
    ),
    (
        "c_start",
        "Start work (no identity check needed)",
        "开始处理（无需身份验证）",
    ),
    ("c_incidents", "Incidents", "安全事件"),
    ("c_reports", "Reports", "报告"),
    ("c_holds", "Legal holds", "法定保留"),
    ("c_calendar", "Holiday calendar", "节假日日历"),
    ("c_denied", "Not allowed", "无权操作"),
    (
        "c_denied_intro",
        "The key you signed in with may not do this. Sign in with a key whose role has this permission.",
        "您登录所用的密钥无权执行此操作。请使用具备相应权限角色的密钥登录。",
    ),
    ("i_title", "Title", "标题"),
    ("i_description", "What happened", "事件经过"),
    ("i_cause", "Cause", "事件原因"),
    ("i_harm", "Possible harm", "可能造成的危害"),
    ("i_remedies", "Remedies taken", "已采取的补救措施"),
    ("i_advice", "What people can do", "个人可采取的措施"),
    ("i_discovered", "Discovered", "发现时间"),
    ("i_occurred", "Occurred", "发生时间"),
    ("i_optional", "optional", "选填"),
    (
        "i_categories",
        "Personal information involved",
        "涉及的个人信息种类",
    ),
    ("i_affected", "People affected", "受影响人数"),
    ("i_not_assessed", "Not assessed yet", "尚未评估"),
    ("i_none", "No incidents recorded.", "暂无安全事件记录。"),
    ("i_new", "Record an incident", "登记安全事件"),
    (
        "i_new_intro",
        "Write every text in English and Chinese: people are notified in both, and the regulator's report shows both. Do not name anyone.",
        "每项内容均需以中英文填写：告知将以两种语言发送，监管报告也同时载明两种语言。请勿写入任何个人的身份信息。",
    ),
    (
        "i_problems",
        "problem(s) — nothing was recorded",
        "个问题——未登记任何内容",
    ),
    ("i_record", "Record incident", "登记事件"),
    ("i_status_open", "Open", "待评估"),
    ("i_status_assessed", "Assessed", "已评估"),
    ("i_status_notified", "Notified", "已告知"),
    ("i_status_closed", "Closed", "已关闭"),
    ("i_mode", "Notification", "告知方式"),
    (
        "i_mode_individual",
        "Each person individually",
        "逐一告知个人",
    ),
    (
        "i_mode_announcement",
        "Public announcement (above the policy's threshold)",
        "公告（超过政策规定的人数阈值）",
    ),
    (
        "i_assess_intro",
        "Finds the people whose data of these categories troth holds, and decides how they are told.",
        "查找 troth 中存有上述种类信息的个人，并据此确定告知方式。",
    ),
    ("i_assess", "Assess the people affected", "评估受影响人员"),
    (
        "i_notify_individual",
        "Queues the notice to each person affected, through the policy's channels.",
        "通过政策规定的渠道，向每位受影响的个人发送告知。",
    ),
    (
        "i_notify_announcement",
        "Queues one public announcement to the announcement targets.",
        "向公告渠道发送一则公告。",
    ),
    ("i_notify", "Send the notices", "发送告知"),
    ("i_close", "Close the incident", "关闭事件"),
    (
        "i_closed_note",
        "This incident is closed.",
        "该事件已关闭。",
    ),
    ("i_report", "Report for the regulator", "监管报告"),
    ("i_download_json", "Download JSON", "下载 JSON"),
    ("i_people", "people", "人"),
    ("i_notice", "The notice people receive", "个人收到的告知"),
    (
        "i_notice_intro",
        "Written from the incident and the policy in force (PIPL Art.57), in both languages.",
        "依据事件信息与现行政策生成（《个人信息保护法》第五十七条），提供两种语言。",
    ),
    ("i_step_created", "Recorded", "已登记"),
    ("i_step_assessed", "Assessed", "已评估"),
    ("i_step_notified", "Notices queued", "已发送告知"),
    ("i_step_closed", "Closed", "已关闭"),
    ("r_aggregate", "Aggregate report", "汇总报告"),
    ("r_k_intro_1", "Groups smaller than", "小于"),
    (
        "r_k_intro_2",
        "people are suppressed, and so are cells that would reveal them by subtraction.",
        "人的分组均已隐藏，可借减法推算出这些分组的单元格也一并隐藏。",
    ),
    ("r_generated", "Generated", "生成时间"),
    ("r_label", "Label", "项目"),
    ("r_count", "Count", "数量"),
    ("r_total", "Total", "合计"),
    ("r_suppressed", "suppressed", "已隐藏"),
    (
        "r_suppressed_help",
        "Fewer than k people, or recoverable from the total",
        "少于 k 人，或可由合计推算",
    ),
    ("r_download_csv", "Download CSV", "下载 CSV"),
    ("r_download_json", "Download JSON", "下载 JSON"),
    (
        "r_no_policy",
        "No policy version is in force yet, so there is nothing to report.",
        "尚无生效的政策版本，暂无可报告的内容。",
    ),
    ("r_dist_consent_state", "Consent states for", "同意状态："),
    (
        "r_dist_consent_given",
        "Consent given, by purpose",
        "各处理目的的同意人数",
    ),
    ("r_dist_requests", "Rights requests:", "权利请求："),
    (
        "r_dist_categories",
        "People with stored data, by category",
        "各种类存有数据的人数",
    ),
    (
        "r_dist_anonymized",
        "Anonymized records, by category",
        "各种类已匿名化的记录",
    ),
    ("r_dist_other", "Distribution", "分布"),
    (
        "r_pia",
        "Personal information protection impact assessments (PIA)",
        "个人信息保护影响评估（PIA）",
    ),
    (
        "r_ropa",
        "Records of processing activities (RoPA)",
        "处理活动记录（RoPA）",
    ),
    ("r_generate", "Generate a new version", "生成新版本"),
    ("r_version", "Report version", "报告版本"),
    ("r_keep_until", "Kept until", "保存至"),
    ("r_no_docs", "None generated yet.", "尚未生成。"),
    (
        "h_intro",
        "Data under a legal hold survives retention sweeps and erasure until the hold is lifted.",
        "处于法定保留状态的数据在保留解除前不会被保存期限清理或删除。",
    ),
    ("h_active", "In force", "生效中"),
    ("h_category", "Category", "数据种类"),
    ("h_reason", "Reason", "保留理由"),
    ("h_note", "Note", "备注"),
    ("h_placed", "Placed", "设立时间"),
    ("h_in_force", "In force", "生效中"),
    ("h_lifted", "Lifted", "已解除"),
    ("h_lift", "Lift", "解除"),
    ("h_everyone", "Everyone", "所有人"),
    (
        "h_all_data",
        "All of the subject's data",
        "该主体的全部数据",
    ),
    ("h_none", "No holds here.", "暂无保留。"),
    (
        "k_intro",
        "Working-day deadlines of rights requests skip weekends and these holidays, and count these make-up working days. A change applies to requests received afterwards; requests already received keep their due date.",
        "权利请求按工作日计算的期限会跳过周末和下列节假日，并计入下列调休工作日。修改仅适用于此后收到的请求；已收到的请求保持原定期限。",
    ),
    ("k_time_zone", "Dates are in", "日期所用时区"),
    ("k_weekend", "Weekend", "周末"),
    ("k_sat_sun", "Saturday and Sunday", "星期六和星期日"),
    ("k_holidays", "Public holidays", "法定节假日"),
    ("k_working_days", "Make-up working days", "调休工作日"),
    ("k_none", "None listed.", "未列出。"),
    ("k_edit", "Edit this year", "编辑本年度"),
    (
        "k_edit_help",
        "One date per line, YYYY-MM-DD, optionally followed by a name.",
        "每行一个日期，格式为 YYYY-MM-DD，可在其后附名称。",
    ),
    ("k_year", "Year", "年份"),
    ("k_save", "Save the year", "保存本年度"),
    (
        "k_saved",
        "Saved. New requests count with this calendar.",
        "已保存。新收到的请求将按此日历计算期限。",
    ),
    ("k_prev", "Previous year", "上一年"),
    ("k_next", "Next year", "下一年"),
    (
        "k_admin_only",
        "Only admin keys may change the calendar.",
        "仅 admin 密钥可以修改日历。",
    ),
    ("h_place", "Place a hold", "设立保留"),
    ("h_placed_ok", "The hold is in force.", "保留已生效。"),
    (
        "h_lifted_ok",
        "The hold is lifted; the next retention sweep may remove what it kept.",
        "保留已解除；下一次保存期限清理可删除其所保留的数据。",
    ),
];

fn table(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    STRINGS
        .iter()
        .map(|(k, en, zh)| (*k, if lang == Lang::En { *en } else { *zh }))
        .collect()
}

static EN: LazyLock<BTreeMap<&'static str, &'static str>> = LazyLock::new(|| table(Lang::En));
static ZH: LazyLock<BTreeMap<&'static str, &'static str>> = LazyLock::new(|| table(Lang::ZhCn));

/// The interface strings in `lang`.
pub fn strings(lang: Lang) -> &'static BTreeMap<&'static str, &'static str> {
    match lang {
        Lang::En => &EN,
        Lang::ZhCn => &ZH,
    }
}

/// One string in `lang` (the key itself when missing, which a test forbids).
pub fn t(lang: Lang, key: &str) -> &'static str {
    strings(lang).get(key).copied().unwrap_or("")
}

/// The code used in `lang=` and `<html lang>`.
pub fn code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::ZhCn => "zh-CN",
    }
}

/// Parses a `lang=` value.
pub fn parse(s: &str) -> Option<Lang> {
    let s = s.trim().to_ascii_lowercase();
    if s.starts_with("zh") {
        Some(Lang::ZhCn)
    } else if s.starts_with("en") {
        Some(Lang::En)
    } else {
        None
    }
}

/// The language of a page: `?lang=` first, then the `troth_lang` cookie, then the
/// highest-weighted supported `Accept-Language` entry; English otherwise.
pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Lang {
    if let Some(l) = query.and_then(parse) {
        return l;
    }
    if let Some(l) = super::session::cookie(headers, "troth_lang").and_then(|v| parse(&v)) {
        return l;
    }
    let Some(accept) = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Lang::En;
    };
    let mut best: Option<(f32, Lang)> = None;
    for part in accept.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(l) = parse(tag)
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, l));
        }
    }
    best.map_or(Lang::En, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_is_translated_and_keys_are_unique() {
        let mut keys: Vec<_> = STRINGS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate key");
        for (k, en, zh) in STRINGS {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}");
        }
    }

    #[test]
    fn accept_language_weights_are_respected() {
        let mut h = HeaderMap::new();
        h.insert("accept-language", "en;q=0.5, zh-CN;q=0.9".parse().unwrap());
        assert_eq!(negotiate(None, &h), Lang::ZhCn);
        h.insert(
            "accept-language",
            "fr, en-GB;q=0.8, zh;q=0.3".parse().unwrap(),
        );
        assert_eq!(negotiate(None, &h), Lang::En);
        assert_eq!(negotiate(Some("zh-CN"), &h), Lang::ZhCn);
        assert_eq!(negotiate(None, &HeaderMap::new()), Lang::En);
    }
}
