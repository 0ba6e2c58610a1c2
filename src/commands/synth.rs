//! `waitable synth`: the template on stdout, or the checked-in files under `--out`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::Result;
use crate::cli::TemplateFormat;
use crate::request::SynthRequest;
use waitable_core::stack_spec::{StackSpec, variants};
use waitable_core::{state_machine, template};

/// Where `synth --out DIR` writes each variant, relative to DIR (the checked-in golden files).
pub fn template_file(variant: &str) -> String {
    format!("templates/{variant}.yaml")
}

pub fn state_machine_file(variant: &str) -> String {
    format!("statemachine/{variant}.asl.json")
}

/// The files `synth --out` writes, a template and a state machine per variant users deploy
/// (see `waitable_core::stack_spec::variants`): (relative path, contents). The state machine
/// is the definition as data, with its `${...}` placeholders as CloudFormation fills them.
pub fn files(iam_auth: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in variants() {
        let spec = StackSpec { iam_auth, ..v.spec };
        let mut definition = serde_json::to_string_pretty(&state_machine::definition(&spec))
            .expect("a JSON value serialises");
        definition.push('\n');
        out.push((
            template_file(v.name),
            template::to_yaml(&template::template(&spec)),
        ));
        out.push((state_machine_file(v.name), definition));
    }
    out
}

/// `aws`: the template is for the aws target, held to what `deploy` holds it to there.
pub fn run(request: &SynthRequest, aws: bool, out: &mut impl Write) -> Result<()> {
    waitable_core::delivery::check_for_target(&request.spec.deliveries, aws)?;
    match &request.out {
        Some(dir) => write_files(dir, request.spec.iam_auth),
        None => {
            let t = template::template(&request.spec);
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
fn write_files(dir: &Path, iam_auth: bool) -> Result<()> {
    for (rel, contents) in files(iam_auth) {
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
