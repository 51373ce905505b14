//! The README's quickstart is `tests/examples/quickstart.rs` (compiled with the tests): the
//! README's copy may not drift from it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The example after its header (`//!` lines and the blank lines after them).
fn example_body() -> String {
    let text = include_str!("../examples/quickstart.rs");
    let body: Vec<&str> = text
        .lines()
        .skip_while(|l| l.starts_with("//!"))
        .skip_while(|l| l.is_empty())
        .collect();
    body.join("\n")
}

/// The first `rust` code block after the README's `## Quickstart` heading.
fn readme_block() -> String {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("## Quickstart").expect("a Quickstart section")..];
    let start = section
        .find("```rust")
        .expect("a rust block in the Quickstart");
    let block = &section[start..];
    let block = &block[block.find('\n').expect("the fence line ends") + 1..];
    block[..block.find("\n```").expect("the block closes")].to_owned()
}

#[test]
fn the_readme_quickstart_is_the_compiled_example() {
    let (readme, example) = (readme_block(), example_body());
    assert!(
        readme == example,
        "README.md's quickstart differs from tests/examples/quickstart.rs; copy the example's \
         code (after its header) into the README.\nREADME:\n{readme}\nexample:\n{example}"
    );
    assert!(example.contains("push_image") && example.contains("pull_image"));
}
