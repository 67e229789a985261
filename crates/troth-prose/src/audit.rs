//! PIPL / GDPR / CCPA disclosure audit.
