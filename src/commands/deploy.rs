//! `waitable deploy`: synthesise the template, check the parameters, let the target plan the
//! change, show it and ask (here, never in a backend), apply it, print the outputs.

use std::io::Write;

use anyhow::Context;
use comfy_table::{Table, presets};
use serde_json::Value;

use crate::backend::{Backend, DeployPlan, Deployment};
use crate::config::Config;
use crate::request::DeployRequest;
use crate::{Error, Result};
use waitable_core::changeset::{self, ResourceChange};
use waitable_core::delivery;
use waitable_core::outputs::StackOutputs;
use waitable_core::stack_spec::StackSpec;
use waitable_core::template;

pub async fn run<B: Backend>(
    backend: &B,
    request: &DeployRequest,
    config: &Config,
    out: &mut impl Write,
) -> Result<()> {
    run_until(backend, request, config, out, ctrl_c()).await
}

/// Ends on Ctrl-C; never, where Ctrl-C cannot be listened to.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// [`run`], with `interrupt` for Ctrl-C at the confirmation: the change set it made is
/// deleted and the deploy ends with exit 130, nothing changed.
pub async fn run_until<B: Backend>(
    backend: &B,
    request: &DeployRequest,
    config: &Config,
    out: &mut impl Write,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let remembered = if request.stack.deliver.is_none() {
        backend.deliveries().await?
    } else {
        Default::default()
    };
    let (deliveries, header) = delivery::for_deploy(
        request.stack.deliver.clone(),
        request.webhook_header.clone(),
        || remembered,
        config.target == crate::cli::Target::Aws,
    )?;
    let template = template::template(&StackSpec {
        iam_auth: request.stack.iam_auth,
        deliveries,
    });
    check_parameters(&request.parameters, &template)?;
    let mut parameters = request.parameters.clone();
    parameters.extend(header);
    let ui = &config.ui;
    if B::DEPLOY_ASKS && !ui.assume_yes && !ui.can_prompt {
        return Err(Error::usage(
            "refusing to deploy without confirmation: not a terminal; pass --yes",
        ));
    }
    let deployment = Deployment {
        template,
        parameters,
        upload_template: request.upload_template,
    };
    let name = &config.stack_name;
    let outputs = match backend.plan(&deployment).await? {
        DeployPlan::UpToDate(outputs) => {
            ui.info(format!("stack {name} is up to date: no changes"));
            outputs
        }
        DeployPlan::Apply(pending) => backend.apply(pending).await?,
        DeployPlan::Review { changes, pending } => {
            show_changes(config, &changes);
            if let Some(table) = changeset::table_replacement(&changes)
                && !request.allow_replace
            {
                backend.discard(pending).await;
                return Err(Error::failed(changeset::table_replacement_refusal(table)));
            }
            let place = in_place(backend.location().await?);
            let question = format!("execute this change set on stack {name}{place}");
            match ui
                .confirm_or_interrupted(&question, "--yes", interrupt)
                .await
            {
                Ok(true) => backend.apply(pending).await?,
                Err(Error::Interrupted(_)) => {
                    backend.discard(pending).await;
                    ui.info("interrupted: the change set was deleted; nothing was changed");
                    return Err(Error::interrupted());
                }
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
    if request.canary {
        // stdout holds the outputs: the legs go with the other messages, on stderr.
        super::check::run_canary(backend, &outputs, &mut |leg| {
            ui.info(leg.to_string());
            Ok(())
        })
        .await?;
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

/// Checks `--parameter` keys against the template's parameters, before anything is sent.
fn check_parameters(parameters: &[(String, String)], template: &Value) -> Result<()> {
    let known: Vec<&str> = template["Parameters"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for (key, value) in parameters {
        if !known.contains(&key.as_str()) {
            return Err(Error::usage(format!(
                "unknown parameter {key:?}: the template's parameters are {}",
                known.join(", ")
            )));
        }
        template::parameter_values::check(template, key, value).map_err(Error::usage)?;
    }
    Ok(())
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
    use crate::commands::fake::Fake;
    use crate::output::Ui;
    use crate::request::StackFlags;

    fn t() -> Value {
        template::template(&waitable_core::stack_spec::StackSpec::default())
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parameters_are_checked_against_the_template() {
        check_parameters(&params(&[("StageName", "dev")]), &t()).unwrap();
        let err = check_parameters(&params(&[("Nope", "1")]), &t()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("StageName"), "{err}");
        // Values are held to the template's constraints before anything is sent.
        for (key, value) in [
            ("RetentionDays", "forever"),
            ("StageName", "a b"),
            ("StageName", "a=b"),
            ("ThrottleRateLimit", "0"),
        ] {
            let bad = params(&[(key, value)]);
            let err = check_parameters(&bad, &t()).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    fn config(ui: Ui) -> Config {
        Config {
            ui,
            ..Fake::config()
        }
    }

    fn request() -> DeployRequest {
        DeployRequest {
            stack: StackFlags::default(),
            parameters: vec![],
            webhook_header: None,
            allow_replace: false,
            canary: false,
            upload_template: false,
        }
    }

    fn with_plan(plan: DeployPlan<&'static str>) -> Fake {
        Fake {
            plan: Some(plan),
            ..Fake::default()
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
        let backend = with_plan(review());
        let mut out = Vec::new();
        run(&backend, &request(), &config(Ui::silent()), &mut out)
            .await
            .unwrap();
        assert_eq!(backend.calls(), ["plan", "apply cs-1"]);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["TableName"], "jobs");
    }

    #[tokio::test]
    async fn ctrl_c_at_the_question_discards_the_plan_and_exits_130() {
        let backend = with_plan(review());
        let ui = Ui {
            assume_yes: false,
            can_prompt: true,
            ..Ui::silent()
        };
        let err = run_until(
            &backend,
            &request(),
            &config(ui),
            &mut Vec::new(),
            std::future::ready(()),
        )
        .await
        .unwrap_err();
        assert_eq!(err.exit_code(), 130);
        assert_eq!(backend.calls(), ["plan", "discard cs-1"]);
    }

    #[tokio::test]
    async fn without_a_terminal_or_yes_nothing_is_planned() {
        let backend = with_plan(review());
        let ui = Ui {
            assume_yes: false,
            ..Ui::silent()
        };
        let err = run(&backend, &request(), &config(ui), &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(backend.calls().is_empty(), "{:?}", backend.calls());
    }

    #[tokio::test]
    async fn an_unknown_parameter_is_refused_before_anything_is_planned() {
        let backend = with_plan(review());
        let bad = DeployRequest {
            parameters: params(&[("Nope", "1")]),
            ..request()
        };
        let err = run(&backend, &bad, &config(Ui::silent()), &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(backend.calls().is_empty(), "{:?}", backend.calls());
    }

    #[tokio::test]
    async fn up_to_date_applies_nothing_and_a_plain_plan_applies_without_asking() {
        let backend = with_plan(DeployPlan::UpToDate(Fake::outputs()));
        let mut out = Vec::new();
        run(&backend, &request(), &config(Ui::silent()), &mut out)
            .await
            .unwrap();
        assert_eq!(backend.calls(), ["plan"]);
        assert!(!out.is_empty());

        let backend = with_plan(DeployPlan::Apply("local"));
        run(&backend, &request(), &config(Ui::silent()), &mut Vec::new())
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
        let backend = with_plan(replacing_the_table());
        let mut out = Vec::new();
        let err = run(&backend, &request(), &config(Ui::silent()), &mut out)
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let msg = err.to_string();
        assert_eq!(msg.lines().count(), 1, "{msg}");
        assert!(msg.contains("replace the jobs table JobsTable"), "{msg}");
        assert!(msg.contains("--allow-replace"), "{msg}");
        assert_eq!(backend.calls(), ["plan", "discard cs-2"]);
        assert!(out.is_empty());

        let backend = with_plan(replacing_the_table());
        let allowed = DeployRequest {
            allow_replace: true,
            canary: false,
            upload_template: false,
            ..request()
        };
        run(&backend, &allowed, &config(Ui::silent()), &mut Vec::new())
            .await
            .unwrap();
        assert_eq!(backend.calls(), ["plan", "apply cs-2"]);
    }

    #[test]
    fn outputs_print_as_json_or_a_table() {
        let mut buf = Vec::new();
        write_outputs(&Fake::outputs(), true, &mut buf).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["TableName"], "jobs");
        assert_eq!(v.as_object().unwrap().len(), 3);

        let mut buf = Vec::new();
        write_outputs(&Fake::outputs(), false, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        for key in ["ApiUrl", "StateMachineArn", "TableName", "jobs"] {
            assert!(text.contains(key), "{text}");
        }
    }
}
