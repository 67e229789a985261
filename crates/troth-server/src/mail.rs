//! Outgoing mail over SMTP (lettre): identity-verification codes for rights
//! requests and notices from the outbox. Message bodies hold personal data (the address, the code) and are
//! never logged.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpConfig;

/// Why mail could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The relay URL or the sender is invalid.
    #[error("invalid mail configuration: {0}")]
    Config(String),
    /// The recipient address does not parse (the address itself is not repeated).
    #[error("the subject's email address cannot be used")]
    Recipient,
    /// The relay refused or could not be reached.
    #[error("the mail relay failed: {0}")]
    Relay(String),
}

/// A configured SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").finish_non_exhaustive()
    }
}

impl Mailer {
    /// Connects lazily to the relay the configuration names.
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|e| MailError::Config(format!("smtp url: {e}")))?
            .build();
        let from = config
            .from
            .parse()
            .map_err(|_| MailError::Config("smtp.from is not an address".into()))?;
        Ok(Self { transport, from })
    }

    /// Sends a one-time verification code in English and Chinese.
    pub async fn send_code(
        &self,
        to: &str,
        controller: &str,
        code: &str,
        minutes: i64,
    ) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::Recipient)?;
        let body = format!(
            "Your verification code for your privacy request to {controller} is {code}.\n\
             It expires in {minutes} minutes. If you did not make a request, ignore this message.\n\n\
             您向{controller}提出的个人信息请求的验证码是 {code}，{minutes}分钟内有效。\
             如非本人操作，请忽略本邮件。\n"
        );
        self.send(to, "Verification code / 验证码", body).await
    }

    /// Sends a notice from the outbox (to a company mailbox: a recipient's or the
    /// operators').
    pub async fn send_notice(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::Recipient)?;
        self.send(to, subject, body.to_owned()).await
    }

    async fn send(&self, to: Mailbox, subject: &str, body: String) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Config(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            // The relay's reply text can quote the address: keep only its class.
            .map_err(|e| {
                MailError::Relay(
                    if e.is_permanent() {
                        "permanent rejection"
                    } else if e.is_transient() {
                        "temporary failure"
                    } else {
                        "connection failed"
                    }
                    .into(),
                )
            })
    }
}
