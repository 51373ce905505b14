//! Token scopes in Docker's grammar (`type:name:actions`, e.g. `repository:library/hello:pull,push`)
//! and what a principal may be granted.

use std::fmt;

/// One scope: a resource type, a resource name and the actions asked for or granted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// `repository` or `registry`.
    pub resource_type: String,
    /// The repository name (may contain `/`), `catalog`, or `*` in [`Grants`] for "any".
    pub name: String,
    /// The actions, e.g. `pull`, `push`, `delete`, `metadata_read`, `metadata_write`, `*`.
    pub actions: Vec<String>,
}

impl Scope {
    /// `repository:<name>:<actions>`.
    pub fn repository(name: &str, actions: &[&str]) -> Scope {
        Scope {
            resource_type: "repository".into(),
            name: name.into(),
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    /// `registry:catalog:*`, the scope of the catalog listings.
    pub fn catalog() -> Scope {
        Scope {
            resource_type: "registry".into(),
            name: "catalog".into(),
            actions: vec!["*".into()],
        }
    }

    /// Parses one scope; `None` if it lacks a type or actions. The type ends at the first `:`,
    /// the actions start after the last `:`.
    pub fn parse(text: &str) -> Option<Scope> {
        let (resource_type, rest) = text.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if resource_type.is_empty() || name.is_empty() {
            return None;
        }
        Some(Scope {
            resource_type: resource_type.into(),
            name: name.into(),
            actions: actions
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Parses a space-separated list of scopes (one `scope` parameter may carry several),
    /// skipping malformed entries.
    pub fn parse_list(text: &str) -> Vec<Scope> {
        text.split_whitespace().filter_map(Scope::parse).collect()
    }

    /// Whether this (granted) scope covers `action` on `resource_type:name`.
    pub fn covers(&self, resource_type: &str, name: &str, action: &str) -> bool {
        self.resource_type == resource_type
            && (self.name == name || self.name == "*")
            && self.actions.iter().any(|a| a == action || a == "*")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.resource_type,
            self.name,
            self.actions.join(",")
        )
    }
}

/// What a principal (refresh token, admin user, anonymous caller) may be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grants {
    /// Everything (admin user, the configured AAD identity).
    All,
    /// Only these scopes; a scope named `*` stands for every name of its type.
    Only(Vec<Scope>),
}

impl Grants {
    /// What an anonymous caller gets when anonymous pull is on: `pull` and `metadata_read` on
    /// every repository, and the catalog.
    pub fn anonymous() -> Grants {
        Grants::Only(vec![
            Scope::repository("*", &["pull", "metadata_read"]),
            Scope::catalog(),
        ])
    }

    /// Pull-only on every repository.
    pub fn pull_only() -> Grants {
        Grants::Only(vec![Scope::repository("*", &["pull"])])
    }

    /// The part of `requested` these grants allow (possibly with no actions left).
    pub fn grant(&self, requested: &Scope) -> Scope {
        let actions = requested
            .actions
            .iter()
            .filter(|action| match self {
                Grants::All => true,
                Grants::Only(scopes) => scopes
                    .iter()
                    .any(|s| s.covers(&requested.resource_type, &requested.name, action)),
            })
            .cloned()
            .collect();
        Scope {
            actions,
            ..requested.clone()
        }
    }

    /// The grants as strings (`*` for [`Grants::All`]), for a token claim.
    pub(crate) fn to_claim(&self) -> serde_json::Value {
        match self {
            Grants::All => serde_json::json!("*"),
            Grants::Only(scopes) => {
                serde_json::Value::from_iter(scopes.iter().map(|s| s.to_string()))
            }
        }
    }

    /// Reads [`Grants::to_claim`]'s output back.
    pub(crate) fn from_claim(value: &serde_json::Value) -> Option<Grants> {
        match value {
            serde_json::Value::String(s) if s == "*" => Some(Grants::All),
            serde_json::Value::Array(items) => Some(Grants::Only(
                items
                    .iter()
                    .filter_map(|v| v.as_str().and_then(Scope::parse))
                    .collect(),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_scopes() {
        let s = Scope::parse("repository:library/hello:pull,push").unwrap();
        assert_eq!(s.name, "library/hello");
        assert_eq!(s.actions, ["pull", "push"]);
        assert_eq!(s.to_string(), "repository:library/hello:pull,push");
        assert_eq!(
            Scope::parse("registry:catalog:*").unwrap(),
            Scope::catalog()
        );
        assert_eq!(Scope::parse("nonsense"), None);
        assert_eq!(
            Scope::parse_list("repository:a:pull registry:catalog:*").len(),
            2
        );
    }

    #[test]
    fn anonymous_grants_only_reads() {
        let asked = Scope::repository("x", &["pull", "push", "delete", "metadata_read"]);
        assert_eq!(
            Grants::anonymous().grant(&asked).actions,
            ["pull", "metadata_read"]
        );
        assert_eq!(Grants::All.grant(&asked).actions.len(), 4);
        let grants = Grants::from_claim(&Grants::pull_only().to_claim()).unwrap();
        assert_eq!(grants, Grants::pull_only());
    }
}
