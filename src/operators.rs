//! `evgate operator add|set-password`: console accounts from the command
//! line, against the configured database (migrations applied as at start).

use std::io::BufRead as _;
use std::process::ExitCode;

use booking::operators;

use crate::config::{Config, OperatorArgs, OperatorCommand};

/// Exit code for input the command cannot use (a bad name, a short password).
const BAD_INPUT: u8 = 2;

/// Runs the command; prints one line, and the generated password if any.
pub async fn run(config: &Config, command: OperatorCommand) -> ExitCode {
    match apply(config, command).await {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("evgate: {message}");
            ExitCode::from(code)
        }
    }
}

async fn apply(config: &Config, command: OperatorCommand) -> Result<String, (u8, String)> {
    let (adding, args) = match command {
        OperatorCommand::Add(args) => (true, args),
        OperatorCommand::SetPassword(args) => (false, args),
    };
    let (password, generated) = password(&args).map_err(|e| (BAD_INPUT, e))?;
    let store = evgate_store::open(&config.database_url)
        .await
        .map_err(|e| (1, e.to_string()))?;
    let now = chrono::Utc::now();
    let failed = |e: booking::Error| match e {
        booking::Error::Validation { .. } | booking::Error::Conflict(_) => {
            (BAD_INPUT, e.to_string())
        }
        other => (1, other.to_string()),
    };
    let name = args.name.clone();
    let role = args.role;
    let secret = password.clone();
    let operator =
        tokio::task::spawn_blocking(move || operators::new_operator(&name, role, &secret, now))
            .await
            .map_err(|e| (1, e.to_string()))?
            .map_err(failed)?;
    let done = if adding {
        let stored = store.add_operator(&operator).await.map_err(failed)?;
        format!("operator {} added ({})", stored.name, stored.role)
    } else {
        let existing = store
            .operator_by_name(&args.name)
            .await
            .map_err(failed)?
            .ok_or_else(|| (BAD_INPUT, format!("no operator is named {}", args.name)))?;
        store
            .set_operator_password(existing.id, &operator.password_hash, None)
            .await
            .map_err(failed)?;
        format!("operator {}: password set, sessions ended", existing.name)
    };
    Ok(if generated {
        format!("{done}\npassword (shown once): {password}")
    } else {
        done
    })
}

/// The password from stdin, or a generated one (`true`).
fn password(args: &OperatorArgs) -> Result<(String, bool), String> {
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        return Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false));
    }
    Ok((booking::secrets::random_token(18), true))
}
