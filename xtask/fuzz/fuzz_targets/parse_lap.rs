//! Fuzz target: arbitrary bytes (lossy UTF-8) into `lap::parse` with the default and the
//! overlay options; whenever parsing succeeds, printing and re-parsing must give the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xtask::lap::{self, ParseOptions};

fn check(text: &str, options: &ParseOptions) {
    if let Ok(doc) = lap::parse(text, options) {
        let printed = lap::print(&doc);
        match lap::parse(&printed, options) {
            Ok(again) => assert!(
                doc.same_tree(&again),
                "round trip changed the tree\n--- input\n{text}\n--- printed\n{printed}"
            ),
            Err(e) => panic!(
                "printed text does not parse: {e}\n--- input\n{text}\n--- printed\n{printed}"
            ),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let overlay = ParseOptions::overlay();
    check(&text, &ParseOptions::default());
    check(&text, &overlay);
    // Most random inputs die at the first line; also try them behind a valid header.
    let framed = format!("@lap v0.3\n{text}\n@end\n");
    check(&framed, &ParseOptions::default());
    check(&framed, &overlay);
});
