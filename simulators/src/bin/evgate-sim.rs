//! `evgate-sim`: see `simulators::cli`.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(simulators::cli::main_with(std::env::args_os()))
}
