//! The `lomond` command: a WebSocket terminal for people and scripts.
//!
//! `lomond URL` prints every event of a connection and sends each line of
//! standard input as a message; `lomond serve` runs an echo server,
//! `lomond ping` times WebSocket pings, `lomond demo` tours persist on an
//! embedded server. `lomond --help` lists every option and the exit
//! statuses.

mod args;
mod client;
mod demo;
mod exit;
mod output;
mod ping;
mod serve;

use args::{Cli, ColorChoice, Command};
use clap::{CommandFactory, Parser};
use exit::Status;
use output::Printer;
use std::io::IsTerminal;

fn main() {
    let cli = Cli::parse();
    let c = &cli.connect;
    let color = match c.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let printer = Printer::new(c.json, color, c.binary_format).utc(c.utc);
    let status = match &cli.command {
        Some(Command::Serve { port, compress }) => serve::run(*port, *compress, &printer),
        Some(Command::Ping {
            url,
            count,
            interval,
            timeout,
        }) => ping::run(url, *count, *interval, *timeout, &printer),
        Some(Command::Demo) => demo::run(&printer),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "lomond",
                &mut std::io::stdout(),
            );
            Status::Clean
        }
        None => match &c.url {
            Some(url) => client::run(c, url, &printer),
            None => {
                let _ = Cli::command().print_help();
                Status::Usage
            }
        },
    };
    std::process::exit(status.code());
}
