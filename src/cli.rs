//! The command line as clap sees it: raw flags only. [`crate::config::Config`] and
//! [`crate::request::Request`] check them once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "waitable",
    version,
    about = "Run \"do this at time T\" jobs on a serverless AWS stack (API Gateway -> Step Functions -> DynamoDB), or on this machine",
    after_help = "Exit codes: 0 success, 1 the operation failed, 2 bad usage or input, 130 interrupted (Ctrl-C)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Name of the stack to act on.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "WAITABLE_STACK",
        default_value = "waitable"
    )]
    pub stack_name: String,
    /// Where the stack lives: your AWS account, or this machine.
    #[arg(long, global = true, help_heading = "Global options", env = "WAITABLE_TARGET", value_enum, default_value_t = Target::Aws)]
    pub target: Target,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// How data on stdout is printed.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Print no progress or messages on stderr (errors are still printed).
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// Answer yes to confirmations (needed when stdin is not a terminal).
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub yes: bool,
    /// Time zone for times typed without one and for times shown (e.g. Europe/Berlin);
    /// typed times otherwise use TZ, shown times UTC.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "ZONE"
    )]
    pub tz: Option<String>,
    /// Show times in this machine's time zone (instead of UTC).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        conflicts_with = "tz"
    )]
    pub local: bool,
}

/// The AWS connection: standard chain (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, files)
/// overridden by these flags.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// AWS named profile (overrides AWS_PROFILE).
    #[arg(long, global = true, help_heading = "Global options")]
    pub profile: Option<String>,
    /// AWS region (overrides AWS_REGION and the profile's region).
    #[arg(long, global = true, help_heading = "Global options")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (an emulator, say); overrides AWS_ENDPOINT_URL.
    #[arg(long, global = true, help_heading = "Global options")]
    pub endpoint_url: Option<String>,
    /// On an AWS error, also print its whole chain on stderr (as RUST_LOG does).
    #[arg(long, global = true, help_heading = "Global options")]
    pub debug: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Your AWS account.
    Aws,
    /// This machine, no AWS account needed.
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    // `status` only: a header row, then one row per job (payload as compact JSON).
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    Yaml,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CloudFormation template (or write it and the state machine under --out).
    Synth(SynthArgs),
    /// Create or update the stack through a change set, with live progress.
    Deploy(DeployArgs),
    /// Start a job that runs at a given time.
    Submit(SubmitArgs),
    /// List jobs and their status.
    Status(StatusArgs),
    /// Show one job's whole story: its row, its execution and the timeline of its history.
    Show(ShowArgs),
    /// Cancel waiting jobs: by Id (one or more), or all that --status STARTED selects.
    Cancel(CancelArgs),
    /// Run a FAILED or CANCELLED job again, with its payload, under its Id: now or --at.
    Retry(RetryArgs),
    /// Move a waiting job to another time (refused once it fired).
    Reschedule(RescheduleArgs),
    /// Delete the stack, cancelling waiting jobs first.
    Destroy,
    /// Print the messages in the stack's delivery queue, then delete them.
    Receive(ReceiveArgs),
    /// Check the deployed API from inside API Gateway (TestInvokeMethod), as deploy does;
    /// --live calls the stage with signed requests, --canary runs one job end to end.
    Check(CheckArgs),
    /// Move STARTED jobs whose execution already ended the way the reconcile would (a sweep
    /// that needs no EventBridge event).
    Reconcile(ReconcileArgs),
    /// Deploy a throw-away local stack, run three jobs, show them complete, clean up.
    Demo,
    /// List the stacks waitable made: on aws those tagged waitable:version in the current
    /// region, locally those under WAITABLE_HOME (with their jobs by status).
    Stacks,
    /// The local engine.
    #[command(subcommand)]
    Local(LocalCommand),
    /// Print a shell completion script (e.g. `waitable completions bash > ~/.local/share/bash-completion/completions/waitable`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `waitable man > ~/.local/share/man/man1/waitable.1`.
    Man,
}

#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// Leave the API without IAM authorization (demos only: anyone with the URL can submit).
    #[arg(long)]
    pub no_auth: bool,
    /// Deliver each job when it fires (repeatable): queue, topic, bus[=NAME], webhook=URL, or
    /// none to remove them. Remembered across deploys.
    #[arg(long = "deliver", value_name = "TARGET")]
    pub deliver: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Template format on stdout.
    #[arg(long, value_enum, default_value_t = TemplateFormat::Yaml)]
    pub format: TemplateFormat,
    /// Write templates/waitable.yaml and statemachine/waitable.asl.json under this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub stack: StackArgs,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// A template parameter, KEY=VALUE (repeatable), e.g. StageName=dev.
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
    /// A header the webhook delivery sends, NAME=VALUE (e.g. Authorization=Bearer...); the
    /// value goes only into the connection's secret.
    #[arg(long = "webhook-header", value_name = "NAME=VALUE")]
    pub webhook_header: Option<String>,
    /// Deploy even when the change set replaces the jobs table (its jobs are lost).
    #[arg(long)]
    pub allow_replace: bool,
    /// After the deploy, run one real job end to end, as `check --canary` does.
    #[arg(long)]
    pub canary: bool,
    /// Send the template through the artifacts bucket even when it fits inline (aws target).
    #[arg(long)]
    pub upload_template: bool,
    #[command(flatten)]
    pub stack: StackArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct CheckArgs {
    /// Also call the deployed stage as a client does: SigV4-signed GET /status (200), the same
    /// unsigned (403 with auth), POST / with {} (400). TestInvokeMethod skips authorization and
    /// the stage; this does not.
    #[arg(long)]
    pub live: bool,
    /// Also run one real job end to end (Id waitable-canary-..., due in 5 s): submitted
    /// through the signed API, COMPLETED, and its message in the queue. It is delivered to
    /// the stack's targets like any job.
    #[arg(long)]
    pub canary: bool,
    /// Also run the stack's webhook state once through Step Functions' TestState and compare
    /// the body it sent with the message waitable promises (one real POST to the webhook,
    /// Id waitable-check-..., payload {"waitableWebhookCheck":true}).
    #[arg(long)]
    pub webhook: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    /// Only jobs due at least this long ago (10m, 2h, 1d).
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub older_than: String,
    /// Print what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Receive at most N messages.
    #[arg(long, default_value_t = 10)]
    pub max: usize,
    /// Wait up to S seconds for the first message.
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
    /// Leave the messages in the queue (they come back after the visibility timeout).
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// When the job runs: RFC 3339 (any offset), a local time with a zone
    /// ('2030-01-01T09:00 Europe/Berlin', or with --tz), @EPOCH, +90s / +1h30m / +1w, or now.
    #[arg(long, required_unless_present = "file", allow_hyphen_values = true)]
    pub at: Option<String>,
    /// The job's Id (becomes the execution name); generated when omitted.
    #[arg(long, conflicts_with = "file", allow_hyphen_values = true)]
    pub id: Option<String>,
    /// JSON to attach to the job.
    #[arg(long, conflicts_with_all = ["payload_file", "file"])]
    pub payload: Option<String>,
    /// Read the JSON payload from a file.
    #[arg(long, conflicts_with = "file")]
    pub payload_file: Option<PathBuf>,
    /// Submit many jobs from a JSON Lines file (- for stdin): {"at": ..., "id"?: ...,
    /// "payload"?: ...} per line, or rows of `status --output json` (StartActionAt, Id, Payload).
    #[arg(long, conflicts_with = "at")]
    pub file: Option<PathBuf>,
    /// Client-side rate limit for --file, in jobs per second [default: the region's
    /// StartExecution quota: 300 in us-east-1, us-west-2 and eu-west-1, 150 elsewhere].
    #[arg(long)]
    pub rate: Option<u32>,
}

/// Which jobs `status` shows and `cancel` cancels, by status and due time.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectArgs {
    /// Only jobs in this status (repeatable): STARTED, COMPLETED, FAILED, CANCELLED.
    #[arg(long = "status")]
    pub statuses: Vec<String>,
    /// Only jobs due at or after TIME (RFC 3339, +2h, -1d, now).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub due_after: Option<String>,
    /// Only jobs due at or before TIME (RFC 3339, +2h, -1d, now).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub due_before: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Show only this job.
    #[arg(long, allow_hyphen_values = true)]
    pub id: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Show at most N jobs (the earliest by StartActionAt).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Redraw until every shown job is finished (exit 1 if one ended FAILED; 130 on Ctrl-C).
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The job's Id.
    #[arg(allow_hyphen_values = true)]
    pub id: String,
    /// When the new run fires (the forms `submit --at` takes); now when omitted.
    #[arg(long, allow_hyphen_values = true)]
    pub at: Option<String>,
}

#[derive(Debug, Args)]
pub struct RescheduleArgs {
    /// The job's Id.
    #[arg(allow_hyphen_values = true)]
    pub id: String,
    /// The job's new time (the forms `submit --at` takes).
    #[arg(long, allow_hyphen_values = true)]
    pub at: String,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The job's Id.
    #[arg(allow_hyphen_values = true)]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The job's Id; or select waiting jobs with --status STARTED and the due times instead.
    #[arg(value_name = "ID", allow_hyphen_values = true)]
    pub id: Option<String>,
    /// More Ids to cancel with it (an Id that starts with - goes after --).
    #[arg(value_name = "ID")]
    pub more: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Run the local engine in the foreground (deploy starts it in the background).
    Run(LocalRunArgs),
    /// Run one execution of any state machine definition on the local interpreter and print
    /// its result as one JSON object.
    Exec(LocalExecArgs),
}

#[derive(Debug, Args)]
pub struct LocalRunArgs {
    /// Port for the HTTP API on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct LocalExecArgs {
    /// The state machine definition (Amazon States Language JSON).
    #[arg(long, value_name = "FILE")]
    pub definition: std::path::PathBuf,
    /// The execution input (JSON).
    #[arg(
        long,
        value_name = "JSON",
        default_value = "{}",
        allow_hyphen_values = true
    )]
    pub input: String,
    /// The execution name ($$.Execution.Name).
    #[arg(long, default_value = "local-exec")]
    pub name: String,
    /// The execution's ARN (`arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`), which
    /// also gives its name and its state machine's name and ARN in the context object.
    #[arg(long, value_name = "ARN", conflicts_with = "name")]
    pub execution_arn: Option<String>,
    /// The execution's start time (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Waits end at once, with the clock moved forward as if they had slept.
    #[arg(long)]
    pub virtual_clock: bool,
    /// A DynamoDB table that exists, with its partition key attribute (repeatable).
    #[arg(long = "table", value_name = "NAME=KEY")]
    pub tables: Vec<String>,
    /// Exit 1 when the execution FAILED and 2 when the definition is invalid (for CI); by
    /// default every result exits 0.
    #[arg(long)]
    pub exit_code: bool,
}
