fn main() -> std::process::ExitCode {
    sebulk::run(std::env::args_os())
}
