//! Compiles the message catalogues (`locales/<lang>/*.ftl`) into the tables `src/i18n.rs`
//! includes. A catalogue that cannot be read stops the build; a message missing from a
//! language is a warning here (English fills in) and a failing test in `haven-i18n`.

fn main() {
    println!("cargo::rerun-if-changed=locales");
    let Some(root) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        eprintln!("CARGO_MANIFEST_DIR is not set");
        std::process::exit(1);
    };
    let Some(out) = std::env::var_os("OUT_DIR") else {
        eprintln!("OUT_DIR is not set");
        std::process::exit(1);
    };
    let locales = std::path::Path::new(&root).join("locales");
    match haven_i18n::compile::generate(&locales) {
        Ok((source, problems)) => {
            for problem in problems {
                println!("cargo::warning={problem}");
            }
            let file = std::path::Path::new(&out).join("catalogue.rs");
            if let Err(e) = std::fs::write(&file, source) {
                eprintln!("{}: {e}", file.display());
                std::process::exit(1);
            }
        }
        Err(errors) => {
            for error in errors {
                eprintln!("{error}");
            }
            std::process::exit(1);
        }
    }
}
