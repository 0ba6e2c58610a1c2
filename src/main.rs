use std::process::ExitCode;

fn main() -> ExitCode {
    waitable::main_entry()
}
