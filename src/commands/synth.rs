//! `waitable synth`: the template on stdout, or the checked-in files under `--out`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::Result;
use crate::cli::TemplateFormat;
use crate::request::SynthRequest;
use waitable_core::{state_machine, template};

/// Where `synth --out DIR` writes, relative to DIR (the checked-in golden files).
pub const TEMPLATE_FILE: &str = "templates/waitable.yaml";
pub const STATE_MACHINE_FILE: &str = "statemachine/waitable.asl.json";

/// The files `synth --out` writes: (relative path, contents).
pub fn files(options: template::StackOptions) -> Vec<(&'static str, String)> {
    let mut definition = serde_json::to_string_pretty(&state_machine::definition())
        .expect("a JSON value serialises");
    definition.push('\n');
    vec![
        (
            TEMPLATE_FILE,
            template::to_yaml(&template::template(options)),
        ),
        (STATE_MACHINE_FILE, definition),
    ]
}

pub fn run(request: &SynthRequest, out: &mut impl Write) -> Result<()> {
    match &request.out {
        Some(dir) => write_files(dir, request.options),
        None => {
            let mut t = template::template(request.options);
            waitable_core::delivery::splice::apply(&mut t, &request.deliveries);
            let text = match request.format {
                TemplateFormat::Yaml => template::to_yaml(&t),
                TemplateFormat::Json => template::to_json(&t),
            };
            out.write_all(text.as_bytes())
                .context("writing the template")?;
            Ok(())
        }
    }
}

/// Writes each file through a temporary sibling and a rename, so an interrupted run never
/// leaves a half-written golden file.
fn write_files(dir: &Path, options: template::StackOptions) -> Result<()> {
    for (rel, contents) in files(options) {
        let path: PathBuf = dir.join(rel);
        let parent = path.parent().expect("golden paths have a parent");
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, contents).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
