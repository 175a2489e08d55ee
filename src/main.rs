fn main() {
    std::process::exit(sebulk::run(std::env::args_os()));
}
