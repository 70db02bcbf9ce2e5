//! The Spin instructions of docs/deploying.md, run as written: `spin build`, then `spin up` with the shipped
//! `spin.toml`. Two substitutions only, both because the test broker is not `make run`'s: the
//! bootstrap address in the command and the broker's port in `allowed_outbound_hosts` (of a copy of
//! the manifest); `--listen` picks a free port. Runs in the Spin pass of `make test` (KRE_SPIN).
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kre_test_support as common;
use kre_test_support::needs;

/// The shell block that follows `marker` in docs/deploying.md, one command per line.
fn deploying_block(marker: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(common::repo().join("docs/deploying.md")).unwrap();
    let after = &doc[doc.find(marker).unwrap_or_else(|| panic!("docs/deploying.md lost '{marker}'"))..];
    let block = after.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    block.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn the_documented_spin_commands_work() {
    if std::env::var("KRE_TEST_HOST").as_deref() != Ok("spin") {
        eprintln!("runs in the Spin pass (KRE_TEST_HOST=spin)");
        return;
    }
    needs!("KRE_TEST_BOOTSTRAP", "KRE_SPIN");
    let spin = common::env("KRE_SPIN");
    let block = deploying_block("What every Spin deployment needs:");
    assert_eq!(
        block,
        ["spin build", "spin up --variable kafka_bootstrap_servers=127.0.0.1:9092"],
        "docs/deploying.md changed"
    );

    // `spin build`, verbatim, in the repository.
    let build = Command::new(&spin).arg("build").current_dir(common::repo()).output().unwrap();
    assert!(build.status.success(), "spin build: {}", String::from_utf8_lossy(&build.stderr));

    // `spin up`: the shipped manifest, the test broker's port allowed instead of 9092.
    let port = common::free_port();
    let broker_port = common::bootstrap().rsplit(':').next().unwrap().to_owned();
    let dir = std::env::temp_dir().join(format!("kre-readme-spin-{port}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = std::fs::read_to_string(common::repo().join("spin.toml")).unwrap();
    assert!(manifest.contains("\"tcp://127.0.0.1:9092\""));
    let manifest = manifest
        .replace("\"tcp://127.0.0.1:9092\"", &format!("\"tcp://127.0.0.1:{broker_port}\""))
        .replace("source = \"target/", &format!("source = \"{}/target/", common::repo().display()));
    std::fs::write(dir.join("spin.toml"), manifest).unwrap();
    let up = block[1].replace("127.0.0.1:9092", &common::bootstrap());
    let mut args: Vec<&str> = up.split_whitespace().skip(1).collect();
    let listen = format!("127.0.0.1:{port}");
    args.extend(["--listen", &listen]);
    let mut cmd = Command::new(&spin);
    cmd.args(&args).current_dir(&dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    let stop = scopeguard(child.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    let reply = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break common::request(port, "GET", "/v3/clusters", &[], None);
        }
        assert!(child.try_wait().unwrap().is_none(), "spin up exited");
        assert!(Instant::now() < deadline, "spin up did not listen");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["data"][0]["kind"], "KafkaCluster");
    // The local default store (SQLite under .spin/) keeps a consumer instance.
    let group = common::unique("g-readme");
    let r = common::request(
        port,
        "POST",
        &format!("/consumers/{group}"),
        &[("content-type", "application/vnd.kafka.v2+json")],
        Some(br#"{"name":"c1"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    drop(stop);
    let _ = child.wait();
}

/// Stops the process group `pid` leads when dropped (the trigger is a child of `spin up`).
fn scopeguard(pid: u32) -> impl Drop {
    struct Guard(u32);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = Command::new("kill").arg("--").arg(format!("-{}", self.0)).status();
        }
    }
    Guard(pid)
}
