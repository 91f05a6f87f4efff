// The config lives at the repository root (PROTOCOLS.md: "Tauri 2 and the embedded login
// window"). Every command gets an `allow-*` permission; only the main window's capability grants
// them, so a login window showing a provider's page can invoke nothing.
const COMMANDS: &[&str] = &include!("src/command_names.in");

fn main() {
    let attributes =
        tauri_build::Attributes::new().config_path("../tauri.conf.json").app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
