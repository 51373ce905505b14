//! A snapshot of every `--help` text: the command tree is walked from `acr --help` through the
//! `Commands:` section of each help, so a new command gets its snapshot without editing this
//! test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn help(path: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_acr"))
        .args(path)
        .arg("--help")
        .env_remove("ACR_REGISTRY")
        .env_remove("ACR_USERNAME")
        .env_remove("ACR_PASSWORD")
        .env_remove("ACR_REFRESH_TOKEN")
        .env_remove("COLUMNS")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(0), "--help exits 0 for {path:?}");
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// The subcommands listed in the `Commands:` section of a help text (without `help`).
fn subcommands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_help_text_is_snapshotted() {
    let mut queue = vec![Vec::<String>::new()];
    let mut seen = Vec::new();
    while let Some(path) = queue.pop() {
        let text = help(&path);
        for sub in subcommands(&text) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
        let name = if path.is_empty() {
            "acr".to_owned()
        } else {
            format!("acr_{}", path.join("_"))
        };
        insta::assert_snapshot!(name.clone(), text);
        seen.push(name);
    }
    // The walk reached the leaves (a broken `Commands:` parse would stop at the root).
    assert!(seen.contains(&"acr_blob_push".to_owned()), "{seen:?}");
    assert!(seen.contains(&"acr_tag_update".to_owned()), "{seen:?}");
    assert!(seen.len() >= 25, "{} help texts: {seen:?}", seen.len());
}

#[test]
fn completions_need_no_registry_and_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let output = Command::new(env!("CARGO_BIN_EXE_acr"))
            .args(["completions", shell])
            .env_remove("ACR_REGISTRY")
            .output()
            .expect("the binary runs");
        assert_eq!(output.status.code(), Some(0), "{shell}: {output:?}");
        let script = String::from_utf8_lossy(&output.stdout);
        for word in ["manifest", "referrers", "registry", "password-stdin"] {
            assert!(script.contains(word), "{shell} completion names {word}");
        }
    }
    let output = Command::new(env!("CARGO_BIN_EXE_acr"))
        .args(["completions", "tcsh-not-a-shell"])
        .output()
        .expect("the binary runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}
