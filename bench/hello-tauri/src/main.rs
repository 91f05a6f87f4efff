//! A bare Tauri app: the baseline for OAuth Desk's start-up and memory benchmark.
fn main() {
    tauri::Builder::default().run(tauri::generate_context!()).expect("hello-tauri failed to start");
}
