//! `waitable deploy`: synthesise the template, check the parameters, let the target plan the
//! change, show it and ask (here, never in a backend), apply it, print the outputs.

use std::io::Write;

use anyhow::Context;
use comfy_table::{Table, presets};
use serde_json::Value;

use crate::backend::{Backend, DeployPlan, DeployRequest};
use crate::cli::DeployArgs;
use crate::config::Config;
use crate::{Error, Result};
use waitable_core::changeset::{self, ResourceChange};
use waitable_core::delivery;
use waitable_core::outputs::StackOutputs;
use waitable_core::template::{self, StackOptions};

pub async fn run<B: Backend>(
    backend: &B,
    args: &DeployArgs,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    let remembered = if args.stack.deliver.is_empty() {
        backend.deliveries().await?
    } else {
        Default::default()
    };
    let (deliveries, header) = delivery::for_deploy(
        &args.stack.deliver,
        args.webhook_header.as_deref(),
        || remembered,
        config.target == crate::cli::Target::Aws,
    )
    .map_err(Error::usage)?;
    let mut template = template::template(StackOptions {
        iam_auth: !args.stack.no_auth,
    });
    delivery::splice::apply(&mut template, &deliveries);
    let mut parameters = parse_parameters(&args.parameters, &template)?;
    parameters.extend(header);
    let ui = &config.ui;
    if B::DEPLOY_ASKS && !ui.assume_yes && !ui.can_prompt {
        return Err(Error::usage(
            "refusing to deploy without confirmation: not a terminal; pass --yes",
        ));
    }
    let request = DeployRequest {
        template,
        parameters,
        upload_template: args.upload_template,
    };
    let name = &config.stack_name;
    let outputs = match backend.plan(&request).await? {
        DeployPlan::UpToDate(outputs) => {
            ui.info(format!("stack {name} is up to date: no changes"));
            outputs
        }
        DeployPlan::Apply(pending) => backend.apply(pending).await?,
        DeployPlan::Review { changes, pending } => {
            show_changes(config, &changes);
            if let Some(table) = changeset::table_replacement(&changes)
                && !args.allow_replace
            {
                backend.discard(pending).await;
                return Err(Error::failed(changeset::table_replacement_refusal(table)));
            }
            let place = in_place(backend.location().await?);
            let question = format!("execute this change set on stack {name}{place}");
            match ui.confirm(&question, "--yes") {
                Ok(true) => backend.apply(pending).await?,
                answer => {
                    backend.discard(pending).await;
                    answer?;
                    return Err(Error::failed("deploy cancelled: nothing was changed"));
                }
            }
        }
    };
    write_outputs(&outputs, config.json(), out)?;
    // The stack is there whatever the check finds; a failing API still exits 1.
    if let Some(check) = backend.check_api(&outputs).await? {
        ui.info(check.to_string());
    }
    Ok(())
}

/// " in account A, region R" for prompts, or nothing where the target names no place.
pub fn in_place(location: Option<String>) -> String {
    location.map(|l| format!(" in {l}")).unwrap_or_default()
}

/// The change set, one line per resource, on stderr.
fn show_changes(config: &Config, changes: &[ResourceChange]) {
    config.ui.info(format!(
        "change set for stack {} ({} change{}):",
        config.stack_name,
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    ));
    for line in changeset::render(changes) {
        config.ui.info(format!("  {line}"));
    }
}

/// Checks `KEY=VALUE` flags against the template's parameters, before anything is sent.
pub fn parse_parameters(flags: &[String], template: &Value) -> Result<Vec<(String, String)>> {
    let known: Vec<&str> = template["Parameters"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut parsed: Vec<(String, String)> = Vec::new();
    for flag in flags {
        let Some((key, value)) = flag.split_once('=') else {
            return Err(Error::usage(format!(
                "--parameter {flag:?} is not KEY=VALUE (e.g. --parameter StageName=dev)"
            )));
        };
        if !known.contains(&key) {
            return Err(Error::usage(format!(
                "unknown parameter {key:?}: the template's parameters are {}",
                known.join(", ")
            )));
        }
        if parsed.iter().any(|(k, _)| k == key) {
            return Err(Error::usage(format!("--parameter {key} is given twice")));
        }
        template::parameter_values::check(template, key, value).map_err(Error::usage)?;
        parsed.push((key.to_string(), value.to_string()));
    }
    Ok(parsed)
}

/// The outputs as a two-column table, or as one JSON object with `--output json`.
pub fn write_outputs(outputs: &StackOutputs, json: bool, out: &mut impl Write) -> Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, outputs)?;
        writeln!(out).context("writing the outputs")?;
    } else {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_BORDERS_ONLY);
        table.set_header(["Output", "Value"]);
        for (key, value) in outputs.rows() {
            table.add_row([key, value]);
        }
        writeln!(out, "{table}").context("writing the outputs")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Value {
        template::template(StackOptions::default())
    }

    #[test]
    fn parameters_are_checked_against_the_template() {
        let ok = parse_parameters(&["StageName=dev".into()], &t()).unwrap();
        assert_eq!(ok, [("StageName".to_string(), "dev".to_string())]);
        assert_eq!(
            parse_parameters(&["RetentionDays=30".into()], &t()).unwrap()[0].1,
            "30"
        );
        for bad in [
            vec!["Stage=dev".to_string()],
            vec!["StageName".to_string()],
            vec!["StageName=a".to_string(), "StageName=b".to_string()],
        ] {
            let err = parse_parameters(&bad, &t()).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        let err = parse_parameters(&["Nope=1".into()], &t()).unwrap_err();
        assert!(err.to_string().contains("StageName"), "{err}");
        // Values are held to the template's constraints before anything is sent.
        for bad in [
            "RetentionDays=forever",
            "StageName=a b",
            "StageName=a=b",
            "ThrottleRateLimit=0",
        ] {
            let err = parse_parameters(&[bad.to_string()], &t()).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    fn outputs() -> StackOutputs {
        StackOutputs {
            api_url: "https://x.execute-api.us-east-1.amazonaws.com/prod".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            table_name: "jobs".into(),
            more: Default::default(),
        }
    }

    /// A target that records what deploy asked of it.
    #[derive(Default)]
    struct Recorder {
        plan: Option<DeployPlan<&'static str>>,
        calls: std::sync::Mutex<Vec<String>>,
    }

    impl Recorder {
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
        fn log(&self, call: &str) {
            self.calls.lock().unwrap().push(call.to_string());
        }
    }

    impl Backend for Recorder {
        type Pending = &'static str;
        const DEPLOY_ASKS: bool = true;

        async fn plan(&self, _: &DeployRequest) -> Result<DeployPlan<&'static str>> {
            self.log("plan");
            Ok(match &self.plan {
                Some(DeployPlan::UpToDate(o)) => DeployPlan::UpToDate(o.clone()),
                Some(DeployPlan::Apply(p)) => DeployPlan::Apply(p),
                Some(DeployPlan::Review { changes, pending }) => DeployPlan::Review {
                    changes: changes.clone(),
                    pending,
                },
                None => unreachable!("every test sets a plan"),
            })
        }
        async fn apply(&self, pending: &'static str) -> Result<StackOutputs> {
            self.log(&format!("apply {pending}"));
            Ok(outputs())
        }
        async fn discard(&self, pending: &'static str) {
            self.log(&format!("discard {pending}"));
        }
        async fn deliveries(&self) -> Result<waitable_core::delivery::Deliveries> {
            Ok(Default::default())
        }

        async fn outputs(&self) -> Result<StackOutputs> {
            unreachable!()
        }
        async fn submit(
            &self,
            _: &waitable_core::job::JobRequest,
        ) -> Result<waitable_core::job::Submitted> {
            unreachable!()
        }
        async fn jobs(
            &self,
            _: &crate::backend::JobQuery,
            _: &mut dyn FnMut(waitable_core::job::JobRecord) -> Result<()>,
        ) -> Result<()> {
            unreachable!()
        }
        async fn cancel(&self, _: &str) -> Result<crate::backend::Cancelled> {
            unreachable!()
        }
        async fn destroy(&self) -> Result<crate::backend::DestroyReport> {
            unreachable!()
        }
    }

    fn config(ui: crate::output::Ui) -> Config {
        Config {
            stack_name: "s".into(),
            target: crate::cli::Target::Aws,
            aws: Default::default(),
            output: crate::cli::OutputFormat::Json,
            ui,
        }
    }

    fn args() -> DeployArgs {
        DeployArgs {
            allow_replace: false,
            upload_template: false,
            parameters: vec![],
            webhook_header: None,
            stack: crate::cli::StackArgs {
                no_auth: false,
                deliver: vec![],
            },
        }
    }

    fn review() -> DeployPlan<&'static str> {
        DeployPlan::Review {
            changes: vec![ResourceChange {
                action: changeset::Action::Add,
                logical_id: "JobsTable".into(),
                resource_type: "AWS::DynamoDB::Table".into(),
                replacement: None,
            }],
            pending: "cs-1",
        }
    }

    #[tokio::test]
    async fn a_reviewed_plan_is_applied_only_after_a_yes() {
        let backend = Recorder {
            plan: Some(review()),
            ..Default::default()
        };
        let mut out = Vec::new();
        run(
            &backend,
            &args(),
            &config(crate::output::Ui::silent()),
            &mut out,
        )
        .await
        .unwrap();
        assert_eq!(backend.calls(), ["plan", "apply cs-1"]);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["TableName"], "jobs");
    }

    #[tokio::test]
    async fn without_a_terminal_or_yes_nothing_is_planned() {
        let backend = Recorder {
            plan: Some(review()),
            ..Default::default()
        };
        let ui = crate::output::Ui {
            assume_yes: false,
            ..crate::output::Ui::silent()
        };
        let err = run(&backend, &args(), &config(ui), &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(backend.calls().is_empty(), "{:?}", backend.calls());
    }

    #[tokio::test]
    async fn up_to_date_applies_nothing_and_a_plain_plan_applies_without_asking() {
        let backend = Recorder {
            plan: Some(DeployPlan::UpToDate(outputs())),
            ..Default::default()
        };
        let mut out = Vec::new();
        run(
            &backend,
            &args(),
            &config(crate::output::Ui::silent()),
            &mut out,
        )
        .await
        .unwrap();
        assert_eq!(backend.calls(), ["plan"]);
        assert!(!out.is_empty());

        let backend = Recorder {
            plan: Some(DeployPlan::Apply("local")),
            ..Default::default()
        };
        run(
            &backend,
            &args(),
            &config(crate::output::Ui::silent()),
            &mut Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(backend.calls(), ["plan", "apply local"]);
    }

    fn replacing_the_table() -> DeployPlan<&'static str> {
        DeployPlan::Review {
            changes: vec![ResourceChange {
                action: changeset::Action::Modify,
                logical_id: waitable_core::logical_ids::JOBS_TABLE.into(),
                resource_type: "AWS::DynamoDB::Table".into(),
                replacement: Some("True".into()),
            }],
            pending: "cs-2",
        }
    }

    #[tokio::test]
    async fn a_change_set_replacing_the_table_is_refused_and_discarded() {
        let backend = Recorder {
            plan: Some(replacing_the_table()),
            ..Default::default()
        };
        let mut out = Vec::new();
        let err = run(
            &backend,
            &args(),
            &config(crate::output::Ui::silent()),
            &mut out,
        )
        .await
        .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let msg = err.to_string();
        assert_eq!(msg.lines().count(), 1, "{msg}");
        assert!(msg.contains("replace the jobs table JobsTable"), "{msg}");
        assert!(msg.contains("--allow-replace"), "{msg}");
        assert_eq!(backend.calls(), ["plan", "discard cs-2"]);
        assert!(out.is_empty());

        let backend = Recorder {
            plan: Some(replacing_the_table()),
            ..Default::default()
        };
        let allowed = DeployArgs {
            allow_replace: true,
            ..args()
        };
        run(
            &backend,
            &allowed,
            &config(crate::output::Ui::silent()),
            &mut Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(backend.calls(), ["plan", "apply cs-2"]);
    }

    #[test]
    fn outputs_print_as_json_or_a_table() {
        let mut buf = Vec::new();
        write_outputs(&outputs(), true, &mut buf).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["TableName"], "jobs");
        assert_eq!(v.as_object().unwrap().len(), 3);

        let mut buf = Vec::new();
        write_outputs(&outputs(), false, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        for key in ["ApiUrl", "StateMachineArn", "TableName", "jobs"] {
            assert!(text.contains(key), "{text}");
        }
    }
}
