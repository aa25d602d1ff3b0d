//! Fuzzes the JSON string writer of the API documents (`output::json::json_str`, which tests
//! eight bytes at a time): on any text it must write what `serde_json` writes (the fuzz build
//! runs under AddressSanitizer).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A prefix so the writer appends into a buffer that already holds something.
    let mut fast = b"[1,".to_vec();
    regiocal::output::json::json_str(&mut fast, &text);
    let mut reference = b"[1,".to_vec();
    reference.extend(serde_json::to_vec(&*text).expect("a string serialises"));
    assert_eq!(fast, reference, "{text:?}");
});
