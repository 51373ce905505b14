//! A failed command: its message, the registry's error code and message, and its exit code.

use crate::args::OutputFormat;

/// Exit code of a failed operation.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of a usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the thing asked for does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit code of an authentication or authorization failure.
pub const EXIT_AUTH: u8 = 4;

/// Why a command failed.
#[derive(Debug)]
pub struct Failure {
    /// What failed, in words.
    pub message: String,
    /// The HTTP status, when the registry answered.
    pub status: Option<u16>,
    /// The registry's error code (`MANIFEST_UNKNOWN`).
    pub code: Option<String>,
    /// The registry's own message.
    pub registry_message: Option<String>,
    /// The process exit code.
    pub exit: u8,
}

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::plain(message, EXIT_USAGE)
    }

    /// A local failure (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::plain(message, EXIT_FAILED)
    }

    /// A failure with an explicit exit code.
    pub fn plain(message: impl Into<String>, exit: u8) -> Self {
        Self {
            message: message.into(),
            status: None,
            code: None,
            registry_message: None,
            exit,
        }
    }

    /// `what` failed with `error`; the exit code follows from the error.
    pub fn from_error(what: impl std::fmt::Display, error: &acr::Error) -> Self {
        let status = error.status().map(|s| s.as_u16());
        let code = error.code().map(|c| c.as_str().to_owned());
        let exit = exit_code_of(error);
        let mut message = format!("{what}: {error}");
        if exit == EXIT_AUTH {
            message.push_str(" (check --username/--password, --refresh-token or ACR_* variables)");
        }
        Self {
            message,
            status,
            code,
            registry_message: error.message().map(str::to_owned),
            exit,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.exit
    }

    /// Prints the failure on stderr, as JSON with `--output json`.
    pub fn print(&self, format: OutputFormat) {
        match format {
            OutputFormat::Json => {
                let mut error = serde_json::Map::new();
                error.insert("message".into(), self.message.clone().into());
                if let Some(s) = self.status {
                    error.insert("status".into(), s.into());
                }
                if let Some(c) = &self.code {
                    error.insert("code".into(), c.clone().into());
                }
                if let Some(m) = &self.registry_message {
                    error.insert("registryMessage".into(), m.clone().into());
                }
                error.insert("exitCode".into(), self.exit.into());
                eprintln!("{}", serde_json::json!({ "error": error }));
            }
            OutputFormat::Table => {
                eprintln!("error: {}", self.message);
                // The error's own text usually names the code already; say it once.
                if let Some(code) = self
                    .code
                    .as_ref()
                    .filter(|c| !self.message.contains(c.as_str()))
                {
                    let msg = self.registry_message.as_deref().unwrap_or("");
                    eprintln!("  registry error: {code}: {msg}");
                }
            }
        }
    }
}

/// The exit code an `acr::Error` maps to: 3 not found, 4 auth, else 1.
pub fn exit_code_of(error: &acr::Error) -> u8 {
    use acr::ErrorCode;
    let status = error.status().map(|s| s.as_u16());
    if matches!(error, acr::Error::Auth { .. })
        || matches!(status, Some(401 | 403))
        || matches!(
            error.code(),
            Some(ErrorCode::Unauthorized | ErrorCode::Denied)
        )
    {
        EXIT_AUTH
    } else if error.is_not_found() {
        EXIT_NOT_FOUND
    } else if matches!(error, acr::Error::InvalidInput { .. } | acr::Error::Name(_)) {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    }
}
