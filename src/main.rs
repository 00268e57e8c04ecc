//! `kspm`: the command line. Parses arguments and wires subcommands to library calls.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use kspm_api::pipeline::Source;
use kspm_engine::controls::Framework;
use kspm_engine::graph::query::{PathQuery, Query};
use kspm_engine::graph::AttackGraph;
use kspm_engine::options::Profile;
use kspm_engine::pss::report::{self as pss_report, AdmissionResult};
use kspm_engine::pss::{Level, Version};
use kspm_engine::rbac::{Identity, Rbac, Request};
use kspm_engine::render::{self, access, catalogue, Format};
use kspm_engine::{checks, ScanOptions, Severity};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// jemalloc: a scan builds and frees millions of small values on every core; against the system
/// allocator it is about a fifth faster and holds about a sixth less at its peak
/// (docs/benchmarks.md, "The allocator").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "kspm",
    version,
    about = "Agentless, graph-based Kubernetes security posture management"
)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan snapshot directories, files or fleets and report findings.
    Scan(ScanArgs),
    /// Watch a live cluster and print findings and attack paths as they appear and resolve.
    Watch(WatchArgs),
    /// Read a live cluster (read-only) and write it in the snapshot format.
    Collect(CollectArgs),
    /// Print the least-privilege ClusterRole and binding the live collector needs.
    CollectorRbac(CollectorRbacArgs),
    /// Run the service: gRPC API, scheduled scans of every configured target, history.
    Serve(ServeArgs),
    /// What changed between two snapshots (or two JSON reports): findings, attack paths, RBAC,
    /// policies, registries, exposure. Exit 0 when nothing changed, 1 when something did.
    Diff(DiffArgs),
    /// What a change would introduce before it exists: apply manifests (files, directories or
    /// `-` for stdin, e.g. `helm template … | kspm plan --base snapshot -`) to a snapshot with
    /// `kubectl apply` semantics and list the findings and attack paths they introduce and
    /// resolve. Exit 1 when the change introduces one at or above --fail-on.
    Plan(PlanArgs),
    /// Print the ValidatingWebhookConfiguration that sends a watched cluster's changes to the
    /// admission webhook of `kspm serve` (fail-open, no side effects, v1 reviews).
    AdmissionConfig(AdmissionConfigArgs),
    /// Answer one AdmissionReview (a file or `-`) against a snapshot, as the webhook of
    /// `kspm serve` would: try a policy before the API server calls it. Exit 1 when refused.
    AdmissionReview(AdmissionReviewArgs),
    /// Per-control compliance (pass, fail, not assessable) for one framework.
    Compliance(ComplianceArgs),
    /// Would Pod Security Admission admit these objects? (exact upstream semantics)
    Pss(PssArgs),
    /// List every subject that can perform an action, with the binding and rule that grant it.
    WhoCan(WhoCanArgs),
    /// Can this subject perform an action? Exit 0 for yes, 1 for no.
    CanI(CanIArgs),
    /// May pods of FROM open a connection to TO on PORT, by the NetworkPolicies (exit 1: no
    /// or not decidable)?
    CanConnect(CanConnectArgs),
    /// The fix plan: the fewest, cheapest changes (each a patch command) that cut every attack
    /// path at or above --severity, proven by searching the graph again without them.
    Fixes(FixesArgs),
    /// Ask the attack graph: paths between two nodes, or everything a node can reach.
    Query {
        #[command(subcommand)]
        command: QueryCommand,
    },
    /// The attack technique catalogue.
    Techniques {
        #[command(subcommand)]
        command: TechniquesCommand,
    },
    /// The check catalogue.
    Checks {
        #[command(subcommand)]
        command: ChecksCommand,
    },
    /// The checks an admission controller can decide on the object alone, as its policies.
    Policies {
        #[command(subcommand)]
        command: PoliciesCommand,
    },
}

#[derive(Subcommand)]
enum PoliciesCommand {
    /// Print them as ValidatingAdmissionPolicies (with bindings) or Kyverno ClusterPolicies, in
    /// CEL, with the exceptions file's accepted risks left unjudged.
    Export(PoliciesExportArgs),
}

/// What `kspm policies export` prints.
#[derive(Args)]
struct PoliciesExportArgs {
    /// The admission controller: validating-admission-policy (Kubernetes 1.30+) or kyverno
    /// (1.11+, CEL rules).
    #[arg(long, value_enum)]
    format: PolicyFormat,
    /// What a rejection does: deny, warn (admitted with a warning) or audit (admitted, recorded
    /// in the audit log; Kyverno: Audit for both).
    #[arg(long, value_enum, default_value_t = PolicyAction::Deny)]
    action: PolicyAction,
    /// A YAML file of accepted risks (as `kspm scan --exceptions`): the objects they name are
    /// not judged (expired ones are).
    #[arg(long)]
    exceptions: Option<PathBuf>,
    /// The cluster the policies are for (exceptions scoped to other clusters are left out).
    #[arg(long)]
    cluster: Option<String>,
    /// A namespace the policies leave out (repeatable; default kube-system: its node agents and
    /// static pods need what the policies forbid, and a refused one breaks nodes).
    #[arg(long = "exclude-namespace", default_values_t = vec!["kube-system".to_string()])]
    exclude_namespaces: Vec<String>,
    /// Output: YAML documents, or a JSON List.
    #[arg(short, long, value_enum, default_value_t = ManifestFormat::Yaml)]
    output: ManifestFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PolicyFormat {
    ValidatingAdmissionPolicy,
    Kyverno,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PolicyAction {
    Deny,
    Warn,
    Audit,
}

#[derive(Subcommand)]
enum ChecksCommand {
    /// List every check with its severity and kinds.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = CatalogueFormat::Table)]
        format: CatalogueFormat,
    },
}

#[derive(Subcommand)]
enum QueryCommand {
    /// The shortest attack path from one node to another (`--to ClusterAdmin`, `AllSecrets`,
    /// `NodeRoot`, or any node reference).
    Paths(QueryPathsArgs),
    /// Everything a node can reach, nearest first.
    Reach(QueryReachArgs),
}

#[derive(Args)]
struct QueryPathsArgs {
    /// Snapshot paths.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Start: a node reference such as `Internet`, `Deployment:shop/web`, `ServiceAccount:ci/deployer`, `User:alice`, `AwsRole:arn:…`, `[cluster] Deployment:shop/web`.
    #[arg(long)]
    from: String,
    /// Target: `ClusterAdmin`, `AllSecrets`, `NodeRoot`, `CloudAdmin`, `CloudAdmin:aws:ACCOUNT` or a node reference.
    #[arg(long)]
    to: String,
    /// Cluster (needed when the fleet has several and the reference is ambiguous).
    #[arg(long)]
    cluster: Option<String>,
    /// Longest path considered.
    #[arg(long, default_value_t = 12)]
    max_hops: u32,
    /// How many distinct paths: the report's route first, then the next-best alternatives.
    #[arg(long, default_value_t = 1)]
    limit: usize,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PathFormat::Table)]
    format: PathFormat,
}

#[derive(Args)]
struct FixesArgs {
    /// Snapshot paths: cluster directories, manifest files or fleet directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Cut the paths at or above this severity.
    #[arg(long, default_value = "high", value_parser = parse_severity)]
    severity: Severity,
    /// At most this many fixes (objects changed), those cutting the most paths first.
    #[arg(long)]
    budget: Option<usize>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PssFormat::Table)]
    format: PssFormat,
}

#[derive(Args)]
struct QueryReachArgs {
    /// Snapshot paths.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Start node reference.
    #[arg(long)]
    from: String,
    /// Cluster (needed when the fleet has several and the reference is ambiguous).
    #[arg(long)]
    cluster: Option<String>,
    /// Farthest hop considered.
    #[arg(long, default_value_t = 12)]
    max_hops: u32,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PssFormat::Table)]
    format: PssFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum PathFormat {
    Table,
    Json,
    Dot,
    Mermaid,
}

#[derive(Subcommand)]
enum TechniquesCommand {
    /// List every technique with its precondition.
    List {
        /// Output format (`markdown` is `docs/attack-techniques.md`).
        #[arg(long, value_enum, default_value_t = CatalogueFormat::Table)]
        format: CatalogueFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CatalogueFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
    Sarif,
    /// OCSF 1.5.0 events (JSON array): findings as Compliance Findings (class 2003), attack
    /// paths as Detection Findings (class 2004).
    Ocsf,
    /// One self-contained HTML file (overview, attack path graphs, findings, compliance).
    Html,
}

#[derive(Args)]
struct ComplianceArgs {
    /// Snapshot paths (optional with --kubeconfig/--context).
    #[arg(required_unless_present_any = ["kubeconfig", "context"])]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    live: LiveArgs,
    /// Framework: cis-kubernetes, cis-eks, cis-gke, cis-aks, nsa-cisa, pss, soc2, pci-dss,
    /// hipaa, iso-27001, nist-800-190.
    #[arg(long)]
    framework: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PssFormat::Table)]
    format: PssFormat,
    /// Which checks run (`all` assesses the hygiene controls too).
    #[arg(long, default_value = "security", value_parser = parse_profile)]
    profile: Profile,
    /// Allowed image registry prefix (repeatable).
    #[arg(long = "allowed-registry")]
    allowed_registries: Vec<String>,
    /// Blocked image registry prefix (repeatable).
    #[arg(long = "blocked-registry")]
    blocked_registries: Vec<String>,
}

#[derive(Args)]
struct WhoCanArgs {
    /// Verb (get, list, create, update, patch, delete, impersonate, bind, escalate, ...).
    verb: String,
    /// RESOURCE[.GROUP][/SUBRESOURCE], e.g. secrets, deployments.apps, pods/exec; or a
    /// non-resource URL such as /metrics.
    resource: String,
    /// Snapshot paths (cluster directories or a fleet).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Namespace of the request (omit for cluster-scoped resources).
    #[arg(short, long)]
    namespace: Option<String>,
    /// Name of the object (matters for rules with resourceNames).
    #[arg(long)]
    name: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PssFormat::Table)]
    format: PssFormat,
}

#[derive(Args)]
struct CanIArgs {
    /// The user to check: a user name, system:serviceaccount:NAMESPACE:NAME, or a cloud
    /// principal of the fleet (`AwsRole:ARN`, `GcpServiceAccount:EMAIL`, `AzureGroup:ID`, ...).
    #[arg(long = "as")]
    as_user: String,
    /// Extra groups of the user (repeatable).
    #[arg(long = "as-group")]
    as_groups: Vec<String>,
    /// Verb.
    verb: String,
    /// RESOURCE[.GROUP][/SUBRESOURCE] or a non-resource URL.
    resource: String,
    /// Snapshot paths.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Namespace of the request.
    #[arg(short, long)]
    namespace: Option<String>,
    /// Name of the object.
    #[arg(long)]
    name: Option<String>,
}

#[derive(Args)]
struct CanConnectArgs {
    /// The source: a workload or Pod (`Deployment:NAMESPACE/NAME`, `Pod:NAMESPACE/NAME`), an
    /// IP address, or `internet` (some client outside the cluster, address unknown).
    from: String,
    /// The destination, the same way, with the port: `Deployment:shop/db:5432`, `:pg` (a named
    /// container port of the destination) or `:53/UDP`.
    to: String,
    /// Snapshot paths.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PssFormat::Table)]
    format: PssFormat,
}

#[derive(Args)]
struct PssArgs {
    /// Pod Security level.
    #[arg(long, value_parser = parse_level)]
    level: Level,
    /// Policy version: v1.N or latest.
    #[arg(long, default_value = "latest", value_parser = parse_version)]
    version: Version,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PssFormat::Table)]
    format: PssFormat,
    /// Manifest files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PssFormat {
    Table,
    Json,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse()
}

/// Cloud discovery.
#[derive(Args, Clone)]
struct CloudArgs {
    /// Discover every EKS cluster the AWS credentials (or the accounts of --config) can see,
    /// and read each one through its API server with a token minted from IAM.
    #[arg(long)]
    aws: bool,
    /// Discover every GKE cluster of the GCP projects (token: GOOGLE_OAUTH_ACCESS_TOKEN, else
    /// Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth
    /// application-default login`, else the metadata server).
    #[arg(long)]
    gcp: bool,
    /// Discover every AKS cluster of the Azure subscriptions (token: AZURE_ACCESS_TOKEN, else a
    /// service principal's AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH, workload
    /// identity, the managed identity, then the Azure CLI's login).
    #[arg(long)]
    azure: bool,
    /// A kspm.toml whose [aws], [gcp] and [azure] sections list accounts, projects,
    /// subscriptions and regions.
    #[arg(long)]
    config: Option<PathBuf>,
    /// AWS region to scan (repeatable; default: the config's, else every enabled region).
    #[arg(long = "aws-region")]
    aws_regions: Vec<String>,
}

impl CloudArgs {
    fn targets(&self) -> Result<kspm_api::cloud::CloudTargets> {
        let sections = match &self.config {
            Some(p) => kspm_api::cloud::load_sections(p).map_err(anyhow::Error::msg)?,
            None => Default::default(),
        };
        let kspm_api::cloud::CloudSections { aws, gcp, azure } = sections;
        if !(self.aws || self.gcp || self.azure) {
            if self.config.is_some() || !self.aws_regions.is_empty() {
                bail!("--config and --aws-region need --aws, --gcp or --azure");
            }
            return Ok(Default::default());
        }
        let mut aws = aws.unwrap_or_default();
        if !self.aws_regions.is_empty() {
            aws.regions = self.aws_regions.clone();
        }
        Ok(kspm_api::cloud::CloudTargets {
            aws: self.aws.then(|| aws.options()),
            gcp: self.gcp.then(|| gcp.unwrap_or_default().options()),
            azure: self.azure.then(|| azure.unwrap_or_default().options()),
        })
    }
}

/// What `kspm collector-rbac` prints.
#[derive(Args)]
struct CollectorRbacArgs {
    /// Leave out `get` on `nodes/proxy` (the kubelet API: every GET endpoint, `/exec` over
    /// WebSocket included); scan with `--no-kubelet-config` then.
    #[arg(long)]
    no_kubelet_config: bool,
}

/// How to reach a live cluster.
#[derive(Args, Clone)]
struct LiveArgs {
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long)]
    context: Option<String>,
    /// Average API requests per second (client-side limit).
    #[arg(long, default_value_t = 20.0)]
    qps: f64,
    /// Burst of API requests above the average.
    #[arg(long, default_value_t = 40)]
    burst: u32,
    /// Do not read kubelet settings through nodes/proxy/configz.
    #[arg(long)]
    no_kubelet_config: bool,
    /// Objects per list request.
    #[arg(long, default_value_t = 500)]
    page_size: u32,
}

impl LiveArgs {
    fn wanted(&self) -> bool {
        self.kubeconfig.is_some() || self.context.is_some()
    }

    fn options(&self) -> kspm_collectors::live::LiveOptions {
        kspm_collectors::live::LiveOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            limits: kspm_collectors::live::http::Limits {
                qps: self.qps,
                burst: self.burst,
                ..Default::default()
            },
            concurrency: 4,
            page_size: self.page_size,
            skip_kubelet_config: self.no_kubelet_config,
        }
    }
}

#[derive(Args)]
struct WatchArgs {
    #[command(flatten)]
    live: LiveArgs,
    /// Output: `table` (human lines) or `json` (one JSON object per line).
    #[arg(short, long, value_enum, default_value_t = PssFormat::Table)]
    format: PssFormat,
    /// Milliseconds to wait for more changes before re-evaluating.
    #[arg(long, default_value_t = 50)]
    settle_ms: u64,
    /// Stop after this many updates (default: run until interrupted).
    #[arg(long)]
    max_updates: Option<usize>,
}

#[derive(Args)]
struct ServeArgs {
    /// Service configuration (tenants, targets, database, listeners); see docs/api.md.
    #[arg(long, default_value = "kspm.toml")]
    config: PathBuf,
    /// Overrides `service.database_url` (`sqlite://FILE` or `postgres://...`).
    #[arg(long)]
    database_url: Option<String>,
    /// Overrides `service.listen`.
    #[arg(long)]
    listen: Option<String>,
    /// Overrides `service.metrics_listen`.
    #[arg(long)]
    metrics_listen: Option<String>,
    /// Overrides `service.web_listen` (the live web view).
    #[arg(long)]
    web_listen: Option<String>,
    /// Log lines as JSON objects (for log pipelines).
    #[arg(long)]
    log_json: bool,
    /// Seconds that in-flight scans get to finish on shutdown.
    #[arg(long, default_value_t = 30)]
    grace_seconds: u64,
}

#[derive(Args)]
struct DiffArgs {
    /// The older snapshot (directory or file) or kspm JSON report.
    old: PathBuf,
    /// The newer snapshot or report.
    new: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PssFormat::Table)]
    format: PssFormat,
}

/// Which checks run and what they accept: shared by `scan` and `plan`.
#[derive(Args)]
struct CheckArgs {
    /// Which checks run: `security` (default) or `all` (adds hygiene checks: probes, replicas,
    /// requests, digests, pull policy).
    #[arg(long, default_value = "security", value_parser = parse_profile)]
    profile: Profile,
    /// A YAML file of accepted risks (`exceptions: [{check, resource, cluster, reason, expires}]`):
    /// an excepted finding is listed as suppressed and fails no gate.
    #[arg(long)]
    exceptions: Option<PathBuf>,
    /// An allowed image registry prefix (repeatable); enables KSPM-I-003.
    #[arg(long = "allowed-registry")]
    allowed_registries: Vec<String>,
    /// A blocked image registry prefix (repeatable, e.g. `docker.io/`); enables KSPM-I-006.
    #[arg(long = "blocked-registry")]
    blocked_registries: Vec<String>,
    /// Image vulnerability reports: a Trivy (`trivy image -f json`), Grype (`grype -o json`) or
    /// CycloneDX JSON file, or a directory of them (repeatable). They weigh each workload's
    /// exploit hop on the attack paths, list on findings what the containers carry, and enable
    /// KSPM-I-007 (with known-exploited data). A fleet's `vulns/` directory is read too.
    #[arg(long = "vulns", value_name = "FILE|DIR")]
    vulns: Vec<PathBuf>,
    /// CISA's Known Exploited Vulnerabilities catalogue (known_exploited_vulnerabilities.json).
    #[arg(long, value_name = "FILE")]
    kev: Option<PathBuf>,
    /// FIRST's EPSS scores (epss_scores-YYYY-MM-DD.csv, decompressed).
    #[arg(long, value_name = "FILE")]
    epss: Option<PathBuf>,
}

impl CheckArgs {
    /// The scan options these select (exceptions read and checked now).
    fn options(&self, default_namespace: Option<String>) -> Result<ScanOptions> {
        let exceptions = exceptions_of(self.exceptions.as_deref())?;
        let sources = kspm_collectors::vulns::Sources {
            reports: self.vulns.clone(),
            kev: self.kev.clone(),
            epss: self.epss.clone(),
        };
        let vulnerabilities = if sources.is_empty() {
            Default::default()
        } else {
            std::sync::Arc::new(kspm_collectors::vulns::load(&sources).map_err(anyhow::Error::msg)?)
        };
        Ok(ScanOptions {
            profile: self.profile,
            exceptions,
            allowed_registries: self.allowed_registries.clone(),
            blocked_registries: self.blocked_registries.clone(),
            today: Some(kspm_api::pipeline::today_utc()),
            default_namespace,
            vulnerabilities,
        })
    }
}

#[derive(Args)]
struct PlanArgs {
    /// The snapshot the change applies to (cluster or fleet directory, or manifest file).
    #[arg(long)]
    base: PathBuf,
    /// The cluster of the base the change applies to (when the base holds several).
    #[arg(long)]
    cluster: Option<String>,
    /// Namespace of changed objects whose manifest names none (default: `default`).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// An object the change deletes: `Kind/namespace/name`, or `Kind/name` (repeatable).
    #[arg(long = "delete")]
    deletions: Vec<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Table)]
    format: PlanFormat,
    /// Exit with code 1 when the change introduces a finding or an attack path at or above
    /// this severity.
    #[arg(long, default_value = "high", value_parser = parse_severity)]
    fail_on: Severity,
    #[command(flatten)]
    checks: CheckArgs,
    /// The change: manifest files or directories, `-` for standard input.
    changes: Vec<PathBuf>,
}

/// What `kspm admission-config` prints.
#[derive(Args)]
struct AdmissionConfigArgs {
    /// Where the API server reaches `kspm serve`'s `admission_listen`: `https://HOST[:PORT]`.
    #[arg(long)]
    url: String,
    /// The tenant of the target, as in kspm.toml.
    #[arg(long)]
    tenant: String,
    /// The target (the cluster this configuration is installed in), as in kspm.toml.
    #[arg(long)]
    target: String,
    /// File holding the webhook's key (at least 32 characters of `A-Z a-z 0-9 - _`, e.g.
    /// `openssl rand -hex 32`); its SHA-256 goes in the target's `admission.key_sha256`.
    #[arg(long)]
    key_file: PathBuf,
    /// PEM of the CA that signed kspm's serving certificate (the webhook's caBundle).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Name of the ValidatingWebhookConfiguration.
    #[arg(long, default_value = "kspm")]
    name: String,
    /// Seconds the API server waits before letting a change through unanswered (1-30).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=30))]
    timeout_seconds: u8,
    /// Namespaces the API server does not send (as the target's `exclude_namespaces`).
    #[arg(long = "exclude-namespace")]
    exclude_namespaces: Vec<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ManifestFormat::Yaml)]
    format: ManifestFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ManifestFormat {
    Yaml,
    Json,
}

/// What `kspm admission-review` judges.
#[derive(Args)]
struct AdmissionReviewArgs {
    /// The snapshot the review is judged against (cluster or fleet directory, or manifest file).
    #[arg(long)]
    base: PathBuf,
    /// The cluster of the base (when the base holds several).
    #[arg(long)]
    cluster: Option<String>,
    /// warn (allowed, with warnings), audit (allowed, with audit annotations) or deny.
    #[arg(long, value_enum, default_value_t = ReviewMode::Warn)]
    mode: ReviewMode,
    /// Findings and attack paths at or above this severity are reported (or refused).
    #[arg(long, default_value = "high", value_parser = parse_severity)]
    severity: Severity,
    /// Namespaces allowed without evaluation.
    #[arg(long = "exclude-namespace")]
    exclude_namespaces: Vec<String>,
    /// kspm's own namespace (never refused).
    #[arg(long, default_value = "kspm")]
    own_namespace: String,
    #[command(flatten)]
    checks: CheckArgs,
    /// The AdmissionReview: a JSON file, or `-` for standard input.
    review: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReviewMode {
    Warn,
    Audit,
    Deny,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanFormat {
    Table,
    Json,
    Markdown,
    Sarif,
}

#[derive(Args)]
struct CollectArgs {
    #[command(flatten)]
    live: LiveArgs,
    #[command(flatten)]
    cloud: CloudArgs,
    /// Directory to write the snapshot to.
    #[arg(long)]
    out: PathBuf,
    /// Replace the values no check needs (environment literals, ConfigMap values, credential
    /// flags, probe headers, credential annotations) while keeping structure and key names: the
    /// snapshot scans to the same findings. Without it the snapshot is as sensitive as read
    /// access to the cluster's workloads and ConfigMaps (Secret values are never read).
    #[arg(long)]
    redact: bool,
}

#[derive(Args)]
struct ScanArgs {
    /// Snapshot paths: cluster directories, manifest files or fleet directories (optional with
    /// --kubeconfig/--context, which scan a live cluster).
    #[arg(required_unless_present_any = ["kubeconfig", "context", "aws", "gcp", "azure"])]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    live: LiveArgs,
    #[command(flatten)]
    cloud: CloudArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Write the report to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Exit with code 1 when a finding is at or above this severity.
    #[arg(long, value_parser = parse_severity)]
    fail_on: Option<Severity>,
    #[command(flatten)]
    checks: CheckArgs,
    /// The namespace of namespaced objects whose manifest names none, as `kubectl apply -n NS`
    /// places them (default: `default`, as `kubectl apply` does).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
}

/// Writes a command's output to stdout (a closed pipe is not an error), safe for a terminal:
/// text with its control characters made visible, JSON with the ones serde leaves raw escaped
/// (see [`render::terminal_safe`], [`render::json_safe`]).
fn print_text(text: &str, json: bool) {
    let safe = if json {
        render::json_safe(text)
    } else {
        render::terminal_safe(text, false)
    };
    let _ = std::io::stdout().lock().write_all(safe.as_bytes());
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// Logging to stderr: warnings by default, `info` with `-v` — and for a long-running service
/// (`serve`), whose start-up, committed scans and errors an operator reads without flags.
fn init_logging(verbose: u8, json: bool, service: bool) {
    let default = match verbose {
        0 if json || service => "info",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if json {
        fmt.json().init();
    } else {
        fmt.with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_logs = matches!(&cli.command, Command::Serve(a) if a.log_json);
    let service = matches!(&cli.command, Command::Serve(_));
    init_logging(cli.verbose, json_logs, service);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "kspm: error: {}",
                render::terminal_safe(&format!("{e:#}"), false)
            );
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Pss(args) => pss(args),
        Command::Compliance(args) => compliance(args),
        Command::Watch(args) => watch(args),
        Command::Serve(args) => serve(args),
        Command::Diff(args) => diff(args),
        Command::Plan(args) => plan(args),
        Command::AdmissionConfig(args) => admission_config(args),
        Command::AdmissionReview(args) => admission_review(args),
        Command::Collect(args) => {
            let targets = args.cloud.targets()?;
            if targets.any() {
                let (n, errors) = kspm_api::cloud::collect_cloud(
                    &targets,
                    &args.live.options(),
                    &args.out,
                    args.redact,
                )
                .map_err(anyhow::Error::msg)?;
                for e in &errors {
                    eprintln!("kspm: {}: {}", e.file, e.message);
                }
                eprintln!(
                    "kspm: wrote {n} cluster(s) to {} ({} could not be read)",
                    args.out.display(),
                    errors.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let n = kspm_api::pipeline::collect_to(&args.live.options(), &args.out, args.redact)
                .map_err(anyhow::Error::msg)?;
            eprintln!("kspm: wrote {n} objects to {}", args.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::CollectorRbac(args) => {
            print!(
                "{}",
                kspm_collectors::live::rbac::collector_rbac(!args.no_kubelet_config)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Fixes(args) => fixes(args),
        Command::Query {
            command: QueryCommand::Paths(args),
        } => query_paths(args),
        Command::Query {
            command: QueryCommand::Reach(args),
        } => query_reach(args),
        Command::Techniques {
            command: TechniquesCommand::List { format },
        } => {
            print!(
                "{}",
                match format {
                    CatalogueFormat::Table => render::techniques::list(false),
                    CatalogueFormat::Json => render::techniques::list(true),
                    CatalogueFormat::Markdown => render::techniques::markdown(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::WhoCan(args) => who_can(args),
        Command::CanI(args) => can_i(args),
        Command::CanConnect(args) => can_connect(args),
        Command::Policies {
            command: PoliciesCommand::Export(args),
        } => policies_export(args),
        Command::Checks {
            command: ChecksCommand::List { format },
        } => {
            let all = checks::catalogue();
            let text = match format {
                CatalogueFormat::Table => catalogue::table(&all),
                CatalogueFormat::Json => catalogue::json(&all),
                CatalogueFormat::Markdown => catalogue::markdown(&all),
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    let options = args.checks.options(args.namespace.clone())?;
    let targets = args.cloud.targets()?;
    let live = args.live.options();
    let source = if targets.any() {
        Source::Cloud(&targets, &live, &args.paths)
    } else if args.live.wanted() {
        Source::Live(&live, &args.paths)
    } else {
        Source::Paths(&args.paths)
    };
    let outcome = kspm_api::pipeline::scan(source, &options).map_err(anyhow::Error::msg)?;
    if let Some(summary) = &outcome.summary {
        eprintln!("kspm: {summary}");
    }
    let (report, graph) = (&outcome.report, outcome.graph);
    // Only the HTML report's explorer reads the graph: freed before rendering otherwise.
    let graph = graph.filter(|_| matches!(args.format, OutputFormat::Html));
    if let Some(why) = kspm_api::pipeline::nothing_read(report, &args.paths) {
        bail!("{why}");
    }
    let format = match args.format {
        OutputFormat::Table => Some(Format::Table),
        OutputFormat::Json => Some(Format::Json),
        OutputFormat::Sarif => Some(Format::Sarif),
        OutputFormat::Ocsf => Some(Format::Ocsf),
        OutputFormat::Html => None,
    };
    let color = args.output.is_none()
        && format == Some(Format::Table)
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let text = match format {
        // Object names, images and messages are the input's: no raw control characters.
        Some(Format::Table) => {
            render::terminal_safe(&render::render(report, Format::Table, color), color)
        }
        Some(f) => render::json_safe(&render::render(report, f, color)),
        None => kspm_api::html::render(report, graph.as_ref()),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`kspm scan ... | head`) is not an error worth a panic.
            let _ = out.write_all(text.as_bytes());
        }
    }
    if !report.errors.is_empty() && format != Some(Format::Table) {
        eprintln!(
            "kspm: {} input(s) could not be read; they are listed in the report's errors",
            report.errors.len()
        );
    }
    // An object that could not be assessed fails a gate too: nobody graded it.
    let unassessed = report
        .errors
        .iter()
        .filter(|e| e.message.contains(kspm_engine::validate::NOT_ASSESSABLE))
        .count();
    if unassessed > 0 && args.fail_on.is_some() {
        eprintln!("kspm: {unassessed} object(s) could not be assessed; --fail-on fails on them");
    }
    let failed = args
        .fail_on
        .is_some_and(|t| report.has_finding_at_or_above(t) || unassessed > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn pss(args: PssArgs) -> Result<ExitCode> {
    let mut results: Vec<AdmissionResult> = Vec::new();
    let mut read = 0usize;
    for path in &args.paths {
        let (mut objects, mut errors) = if path.is_dir() {
            let c = kspm_collectors::files::load_cluster_dir(path);
            (c.objects, c.errors)
        } else {
            let out = kspm_collectors::files::read_objects(path);
            (out.objects, out.errors)
        };
        read += objects.len();
        // An object the API server would reject is not admitted: it is an error.
        errors.extend(kspm_engine::validate::drop_malformed(&mut objects));
        results.extend(errors.into_iter().map(|e| AdmissionResult {
            file: e.file.clone(),
            object: None,
            namespace: None,
            allowed: false,
            violations: Vec::new(),
            error: Some(e.to_string()),
        }));
        results.extend(
            objects
                .iter()
                .filter_map(|o| pss_report::admit(o, args.level, args.version)),
        );
    }
    if read == 0 {
        let errors: Vec<String> = results.iter().filter_map(|r| r.error.clone()).collect();
        bail!(
            "{}",
            kspm_api::pipeline::no_objects_message(&args.paths, &errors)
        );
    }
    let text = match args.format {
        PssFormat::Json => pss_report::json(&results),
        PssFormat::Table => pss_report::table(&results, args.level, args.version),
    };
    print_text(&text, args.format == PssFormat::Json);
    Ok(if results.iter().all(|r| r.allowed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Loads snapshot paths for the RBAC commands; fails when nothing could be read.
fn load_clusters(paths: &[PathBuf]) -> Result<kspm_engine::Snapshot> {
    let snapshot = kspm_collectors::files::load(paths);
    for e in snapshot
        .errors
        .iter()
        .chain(snapshot.clusters.iter().flat_map(|c| &c.errors))
    {
        eprintln!(
            "kspm: warning: {}",
            render::terminal_safe(&e.to_string(), false)
        );
    }
    if snapshot.clusters.iter().all(|c| c.objects.is_empty()) {
        let errors: Vec<String> = snapshot
            .errors
            .iter()
            .chain(snapshot.clusters.iter().flat_map(|c| &c.errors))
            .map(|e| e.to_string())
            .collect();
        bail!("{}", kspm_api::pipeline::no_objects_message(paths, &errors));
    }
    Ok(snapshot)
}

fn who_can(args: WhoCanArgs) -> Result<ExitCode> {
    let req = Request::parse(
        &args.verb,
        &args.resource,
        args.namespace.as_deref(),
        args.name.as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let snapshot = load_clusters(&args.paths)?;
    let (graph, _) = kspm_engine::evaluate::fleet_graph(&snapshot, &path_options(&args.paths));
    let query = Query::new(&graph);
    let rbacs: Vec<Rbac> = snapshot
        .clusters
        .iter()
        .map(kspm_engine::evaluate::effective_rbac)
        .collect();
    let answers: Vec<access::WhoCan<'_>> = snapshot
        .clusters
        .iter()
        .zip(&rbacs)
        .map(|(c, r)| {
            let entries = r.who_can(&req);
            let subjects: std::collections::HashSet<String> =
                entries.iter().map(|(s, _)| s.node_ref()).collect();
            access::WhoCan {
                cluster: &c.info.name,
                cloud: query.cloud_holders(&c.info.name, &subjects, reads_secrets(&req)),
                entries,
            }
        })
        .collect();
    let text = match args.format {
        PssFormat::Table => access::who_can_table(&answers),
        PssFormat::Json => access::who_can_json(&answers),
    };
    print_text(&text, args.format == PssFormat::Json);
    Ok(ExitCode::SUCCESS)
}

/// Whether a request reads Secrets (what the `AllSecrets` sink implies).
fn reads_secrets(req: &Request) -> bool {
    req.path.is_none()
        && req.api_group.is_empty()
        && req.resource == "secrets"
        && req.subresource.is_empty()
        && matches!(req.verb.as_str(), "get" | "list" | "watch")
}

fn can_i(args: CanIArgs) -> Result<ExitCode> {
    let req = Request::parse(
        &args.verb,
        &args.resource,
        args.namespace.as_deref(),
        args.name.as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let snapshot = load_clusters(&args.paths)?;
    let rbacs: Vec<Rbac> = snapshot
        .clusters
        .iter()
        .map(kspm_engine::evaluate::effective_rbac)
        .collect();
    let cloud = ["Aws", "Gcp", "Azure"]
        .iter()
        .any(|p| args.as_user.starts_with(p) && args.as_user.contains(':'));
    if cloud {
        // A cloud principal: what each cluster maps it to, then RBAC for those identities.
        let (graph, _) = kspm_engine::evaluate::fleet_graph(&snapshot, &path_options(&args.paths));
        let query = Query::new(&graph);
        let mut answers = Vec::new();
        for (c, r) in snapshot.clusters.iter().zip(&rbacs) {
            let identity = query
                .cloud_identity(&c.info.name, &args.as_user)
                .map_err(anyhow::Error::msg)?;
            let sinks = identity
                .sinks
                .iter()
                .filter(|(s, _, _)| {
                    s == "ClusterAdmin" || (s == "AllSecrets" && reads_secrets(&req))
                })
                .cloned()
                .collect();
            let groups: Vec<String> = identity
                .groups
                .iter()
                .map(|(g, _)| g.clone())
                .chain(args.as_groups.iter().cloned())
                .collect();
            let mut decisions = Vec::new();
            let users: Vec<String> = if identity.users.is_empty() && !groups.is_empty() {
                vec![args.as_user.clone()]
            } else {
                identity.users.iter().map(|(u, _)| u.clone()).collect()
            };
            for u in users {
                let who = Identity::parse_as(&u, &groups);
                decisions.push((format!("User:{u}"), r.authorize(&who, &req)));
            }
            answers.push(access::CloudCanI {
                cluster: &c.info.name,
                identity,
                sinks,
                decisions,
            });
        }
        print_text(&access::can_i_cloud_table(&args.as_user, &answers), false);
        return Ok(if answers.iter().all(|a| a.allowed()) {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let who = Identity::parse_as(&args.as_user, &args.as_groups);
    let decisions: Vec<_> = rbacs.iter().map(|r| r.authorize(&who, &req)).collect();
    let answers: Vec<(&str, &kspm_engine::rbac::Decision<'_>)> = snapshot
        .clusters
        .iter()
        .map(|c| c.info.name.as_str())
        .zip(decisions.iter())
        .collect();
    print_text(&access::can_i_table(&answers), false);
    Ok(if decisions.iter().all(|d| d.allowed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn can_connect(args: CanConnectArgs) -> Result<ExitCode> {
    use kspm_engine::netpol::{pods_of, Answer, Model, Party};
    let spec_error = || {
        anyhow::anyhow!(
            "{}: give the destination and port as TO:PORT (5432, a port name, 53/UDP)",
            args.to
        )
    };
    let (to, port_spec) = args.to.rsplit_once(':').ok_or_else(spec_error)?;
    let (port, protocol) = port_spec.split_once('/').unwrap_or((port_spec, "TCP"));
    let protocol = protocol.to_ascii_uppercase();
    if port.is_empty()
        || !port.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        || !["TCP", "UDP", "SCTP"].contains(&protocol.as_str())
    {
        return Err(spec_error());
    }
    let snapshot = load_clusters(&args.paths)?;
    let mut verdicts = Vec::new();
    for c in &snapshot.clusters {
        let inv = kspm_engine::inventory::Inventory::new(c);
        let party = |r: &str| -> Option<Party> {
            if r.eq_ignore_ascii_case("internet") {
                return Some(Party::Outside);
            }
            match r.parse() {
                Ok(ip) => Some(Party::Address(ip)),
                Err(_) => pods_of(&inv, r).map(Party::Pods),
            }
        };
        let (Some(from), Some(dest)) = (party(&args.from), party(to)) else {
            continue;
        };
        let number = match (port.parse::<u16>(), &dest) {
            (Ok(n), _) => n,
            (Err(_), Party::Pods(p)) => match p
                .ports
                .iter()
                .find(|(n, _, pr)| n == port && *pr == protocol)
            {
                Some((_, n, _)) => *n,
                None => bail!("{to} has no container port named {port} ({protocol})"),
            },
            (Err(_), Party::Address(_) | Party::Outside | Party::AnyPod) => {
                bail!("{port}: a port number is needed for an address")
            }
        };
        verdicts.push((
            c.info.name.as_str(),
            Model::of(&inv).connect(&from, &dest, number, &protocol),
        ));
    }
    if verdicts.is_empty() {
        bail!(
            "no cluster holds both {} and {to} (a workload as Kind:NAMESPACE/NAME, an IP address, or internet)",
            args.from
        );
    }
    let answers: Vec<(&str, &kspm_engine::netpol::Verdict)> =
        verdicts.iter().map(|(c, v)| (*c, v)).collect();
    match args.format {
        PssFormat::Table => print_text(&access::can_connect_table(&answers), false),
        PssFormat::Json => print_text(&access::can_connect_json(&answers), true),
    }
    Ok(if verdicts.iter().all(|(_, v)| v.answer == Answer::Yes) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn compliance(args: ComplianceArgs) -> Result<ExitCode> {
    let Some(fw) = Framework::ALL.iter().find(|f| f.id() == args.framework) else {
        let ids: Vec<&str> = Framework::ALL.iter().map(|f| f.id()).collect();
        bail!(
            "unknown framework `{}` (expected one of {})",
            args.framework,
            ids.join(", ")
        );
    };
    let options = ScanOptions {
        profile: args.profile,
        allowed_registries: args.allowed_registries,
        blocked_registries: args.blocked_registries,
        ..Default::default()
    };
    let live = args.live.options();
    let source = if args.live.wanted() {
        Source::Live(&live, &args.paths)
    } else {
        Source::Paths(&args.paths)
    };
    let mut outcome = kspm_api::pipeline::scan(source, &options).map_err(anyhow::Error::msg)?;
    outcome.graph = None;
    if let Some(why) = kspm_api::pipeline::nothing_read(&outcome.report, &args.paths) {
        bail!("{why}");
    }
    let summaries: Vec<_> = outcome
        .report
        .compliance
        .iter()
        .filter(|c| c.framework == fw.id())
        .collect();
    if summaries.is_empty() {
        bail!("{} applies to none of the clusters scanned", fw.id());
    }
    let text = match args.format {
        PssFormat::Table => render::compliance::table(&summaries),
        PssFormat::Json => render::compliance::json(&summaries),
    };
    print_text(&text, args.format == PssFormat::Json);
    Ok(ExitCode::SUCCESS)
}

/// The options `kspm scan PATHS` evaluates with by default: the paths' own vulnerability data
/// (a fleet's `vulns/`) included, so every command builds the graph the scan reports.
fn path_options(paths: &[PathBuf]) -> ScanOptions {
    let plan = kspm_collectors::files::plan(paths);
    kspm_api::pipeline::with_fleet_vulnerabilities(&ScanOptions::default(), &plan)
}

/// The fleet graph `kspm scan` builds for `paths` (cloud documents, access entries, every
/// cluster joined, image vulnerability reports), for the query commands.
fn query_graph(paths: &[PathBuf]) -> Result<AttackGraph> {
    let snapshot = load_clusters(paths)?;
    let (graph, notes) = kspm_engine::evaluate::fleet_graph(&snapshot, &path_options(paths));
    for e in notes {
        eprintln!(
            "kspm: warning: {}",
            render::terminal_safe(&format!("{}: {}", e.file, e.message), false)
        );
    }
    Ok(graph)
}

fn fixes(args: FixesArgs) -> Result<ExitCode> {
    use kspm_engine::graph::fixplan::{plan, FindingSite, PlanOptions};
    let snapshot = load_clusters(&args.paths)?;
    let (report, graph) =
        kspm_engine::evaluate::evaluate_with_graph(&snapshot, &path_options(&args.paths));
    for e in &report.errors {
        if e.file == "cloud" {
            eprintln!(
                "kspm: warning: {}",
                render::terminal_safe(&e.message, false)
            );
        }
    }
    let options = PlanOptions {
        severity: args.severity,
        budget: args.budget,
    };
    let paths = graph.index().attack_paths();
    let sites: Vec<FindingSite> = report.findings.iter().map(FindingSite::of).collect();
    let fix_plan = plan(&graph, &paths, &sites, options);
    let text = match args.format {
        PssFormat::Json => serde_json::to_string_pretty(&fix_plan)? + "\n",
        PssFormat::Table => render::fixes::table(&fix_plan),
    };
    print_text(&text, args.format == PssFormat::Json);
    Ok(ExitCode::SUCCESS)
}

fn query_paths(args: QueryPathsArgs) -> Result<ExitCode> {
    let g = query_graph(&args.paths)?;
    let found = Query::new(&g)
        .paths(&PathQuery {
            from: &args.from,
            to: &args.to,
            cluster: args.cluster.as_deref(),
            max_hops: args.max_hops,
            limit: args.limit,
        })
        .map_err(anyhow::Error::msg)?;
    let refs: Vec<&kspm_engine::graph::paths::AttackPath> = found.iter().collect();
    let text = match args.format {
        PathFormat::Table => render::paths::table(&refs),
        PathFormat::Json => render::paths::json(&refs),
        PathFormat::Dot => render::paths::dot(&refs),
        PathFormat::Mermaid => render::paths::mermaid(&refs),
    };
    print_text(&text, matches!(args.format, PathFormat::Json));
    Ok(ExitCode::SUCCESS)
}

fn query_reach(args: QueryReachArgs) -> Result<ExitCode> {
    let g = query_graph(&args.paths)?;
    let reached = Query::new(&g)
        .reach(args.cluster.as_deref(), &args.from, args.max_hops)
        .map_err(anyhow::Error::msg)?;
    let text = match args.format {
        PssFormat::Json => render::paths::reach_json(&args.from, &reached),
        PssFormat::Table => render::paths::reach_table(&args.from, &reached),
    };
    print_text(&text, args.format == PssFormat::Json);
    Ok(ExitCode::SUCCESS)
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    use kspm_api::service;
    let mut config = service::config::Config::load(&args.config).map_err(anyhow::Error::msg)?;
    if let Some(url) = args.database_url {
        config.service.database_url = url;
    }
    if let Some(l) = args.listen {
        config.service.listen = l;
    }
    if let Some(l) = args.metrics_listen {
        config.service.metrics_listen = Some(l);
    }
    if let Some(l) = args.web_listen {
        config.service.web_listen = Some(l);
    }
    // The overrides are held to the same rules as the file (loopback-only plaintext), and the
    // TLS files are read now, before anything starts.
    config
        .validate()
        .and_then(|()| service::config::check_tls_files(&config.service))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
    let runtime = kspm_api::runtime::start().map_err(anyhow::Error::msg)?;
    runtime.block_on(async {
        async fn bind(addr: &str) -> Result<tokio::net::TcpListener> {
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))
        }
        let listener = bind(&config.service.listen).await?;
        let metrics = match &config.service.metrics_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let web = match &config.service.web_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let shared = service::Shared::open(config, ScanOptions::default())
            .await
            .map_err(anyhow::Error::msg)?;
        let addr = |l: &Option<tokio::net::TcpListener>| {
            l.as_ref()
                .and_then(|l| l.local_addr().ok())
                .map_or_else(|| "off".to_string(), |a| a.to_string())
        };
        tracing::info!(
            listen = %listener.local_addr()?,
            metrics = %addr(&metrics),
            web = %addr(&web),
            replica = %shared.replica,
            tenants = shared.config.tenants.len(),
            targets = shared.config.tenants.iter().map(|t| t.targets.len()).sum::<usize>(),
            database = if shared.store.is_postgres() { "postgresql" } else { "sqlite" },
            "kspm serve started"
        );
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
            tracing::info!("shutting down");
        };
        service::serve(
            shared,
            listener,
            metrics,
            web,
            shutdown,
            std::time::Duration::from_secs(args.grace_seconds),
        )
        .await
        .map_err(anyhow::Error::msg)
    })?;
    Ok(ExitCode::SUCCESS)
}

fn diff(args: DiffArgs) -> Result<ExitCode> {
    let options = ScanOptions::default();
    let old = kspm_api::diff::load(&args.old, &options).map_err(anyhow::Error::msg)?;
    let new = kspm_api::diff::load(&args.new, &options).map_err(anyhow::Error::msg)?;
    let d = kspm_api::diff::compare(&old, &new);
    let text = match args.format {
        PssFormat::Table => kspm_api::diff::table(&d),
        PssFormat::Json => kspm_api::diff::json(&d).map_err(anyhow::Error::msg)?,
    };
    print_text(&text, args.format == PssFormat::Json);
    Ok(if d.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plan(args: PlanArgs) -> Result<ExitCode> {
    if args.changes.is_empty() && args.deletions.is_empty() {
        anyhow::bail!(
            "name the change: manifest files or directories, `-` for standard input, or --delete"
        );
    }
    // The base keeps its own namespaces; -n places the change's objects (see PlanInput).
    let options = args.checks.options(None)?;
    let input = kspm_api::plan::PlanInput {
        base: args.base,
        cluster: args.cluster,
        namespace: args.namespace,
        changes: args.changes,
        deletions: args.deletions,
    };
    let p = kspm_api::plan::plan(&input, &options).map_err(anyhow::Error::msg)?;
    let (text, json) = match args.format {
        PlanFormat::Table => (kspm_api::plan::table(&p), false),
        PlanFormat::Markdown => (kspm_api::plan::markdown(&p), false),
        PlanFormat::Json => {
            let mut s = serde_json::to_string_pretty(&p)?;
            s.push('\n');
            (s, true)
        }
        PlanFormat::Sarif => (kspm_api::plan::sarif(&p), true),
    };
    print_text(&text, json);
    Ok(if p.introduces_at_or_above(args.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn admission_config(args: AdmissionConfigArgs) -> Result<ExitCode> {
    let url = args.url.trim_end_matches('/');
    if !url.starts_with("https://") {
        anyhow::bail!(
            "--url {url}: API servers call webhooks over HTTPS only (https://HOST[:PORT])"
        );
    }
    let key = std::fs::read_to_string(&args.key_file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.key_file.display()))?;
    let key = key.trim();
    if key.len() < 32
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        anyhow::bail!(
            "{}: the key is at least 32 characters of A-Z a-z 0-9 - _ (e.g. `openssl rand -hex 32`)",
            args.key_file.display()
        );
    }
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    };
    if !segment_ok(&args.tenant) || !segment_ok(&args.target) {
        anyhow::bail!(
            "--tenant and --target are names of A-Z a-z 0-9 - _ . (they go in the URL path)"
        );
    }
    let ca = match &args.ca_file {
        Some(p) => {
            Some(std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    let full = format!("{url}/admission/{}/{}/{key}", args.tenant, args.target);
    let v = kspm_api::webhook::registration(&kspm_api::webhook::Registration {
        name: &args.name,
        url: &full,
        ca_pem: ca.as_deref(),
        timeout_seconds: args.timeout_seconds,
        exclude_namespaces: &args.exclude_namespaces,
    });
    let text = match args.format {
        ManifestFormat::Yaml => kspm_engine::yaml::to_string(&v).map_err(anyhow::Error::msg)?,
        ManifestFormat::Json => format!("{}\n", serde_json::to_string_pretty(&v)?),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    eprintln!(
        "kspm: in kspm.toml, [tenant.target.admission] of {}/{}: key_sha256 = \"{}\"",
        args.tenant,
        args.target,
        kspm_api::service::config::hash_token(key)
    );
    Ok(ExitCode::SUCCESS)
}

/// The accepted risks of an exceptions file (none without one), read and checked now.
fn exceptions_of(path: Option<&std::path::Path>) -> Result<Vec<kspm_engine::options::Exception>> {
    Ok(match path {
        Some(p) => {
            kspm_api::pipeline::load_exceptions(p)
                .map_err(anyhow::Error::msg)?
                .exceptions
        }
        None => Vec::new(),
    })
}

fn policies_export(args: PoliciesExportArgs) -> Result<ExitCode> {
    use kspm_engine::policy_export::{earliest_expiry, export, Action, Export, Format};
    let exceptions = exceptions_of(args.exceptions.as_deref())?;
    let today = kspm_api::pipeline::today_utc();
    let x = Export {
        format: match args.format {
            PolicyFormat::ValidatingAdmissionPolicy => Format::ValidatingAdmissionPolicy,
            PolicyFormat::Kyverno => Format::Kyverno,
        },
        action: match args.action {
            PolicyAction::Deny => Action::Deny,
            PolicyAction::Warn => Action::Warn,
            PolicyAction::Audit => Action::Audit,
        },
        exceptions: &exceptions,
        cluster: args.cluster.as_deref(),
        today: Some(&today),
        exclude_namespaces: &args.exclude_namespaces,
    };
    if let Some(day) = earliest_expiry(&x) {
        eprintln!(
            "kspm: an accepted risk in the export expires on {day}; admission has no clock: export again then (annotation kspm.dev/exceptions-expire)"
        );
    }
    let docs = export(&x);
    let text = match args.output {
        ManifestFormat::Yaml => {
            let mut out = String::new();
            for d in &docs {
                out.push_str("---\n");
                out.push_str(&kspm_engine::yaml::to_string(d).map_err(anyhow::Error::msg)?);
            }
            out
        }
        ManifestFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": docs});
            format!("{}\n", serde_json::to_string_pretty(&list)?)
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}

fn admission_review(args: AdmissionReviewArgs) -> Result<ExitCode> {
    let body = if args.review == std::path::Path::new("-") {
        let mut b = Vec::new();
        std::io::stdin()
            .take(kspm_api::webhook::MAX_REVIEW_BYTES as u64 + 1)
            .read_to_end(&mut b)?;
        b
    } else {
        std::fs::read(&args.review)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.review.display()))?
    };
    let options = args.checks.options(None)?;
    let (mut engine, base_errors) =
        kspm_api::plan::load_base(&args.base, args.cluster.as_deref(), &options)
            .map_err(anyhow::Error::msg)?;
    for e in &base_errors {
        eprintln!("kspm: base: {}", render::terminal_safe(e, false));
    }
    engine.apply(std::iter::empty());
    let policy = kspm_api::webhook::Policy {
        mode: match args.mode {
            ReviewMode::Warn => kspm_api::webhook::Mode::Warn,
            ReviewMode::Audit => kspm_api::webhook::Mode::Audit,
            ReviewMode::Deny => kspm_api::webhook::Mode::Deny,
        },
        severity: args.severity,
        exclude_namespaces: args.exclude_namespaces,
        key_sha256: String::new(),
    };
    let answer =
        match kspm_api::webhook::review(Some(&mut engine), &body, &policy, &args.own_namespace) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("kspm: {}: {e}", args.review.display());
                return Ok(ExitCode::from(2));
            }
        };
    let mut text = serde_json::to_string_pretty(&answer)?;
    text.push('\n');
    print_text(&text, true);
    Ok(
        if answer.pointer("/response/allowed") == Some(&serde_json::Value::Bool(false)) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

fn watch(args: WatchArgs) -> Result<ExitCode> {
    let runtime = kspm_api::runtime::start().map_err(anyhow::Error::msg)?;
    let json = args.format == PssFormat::Json;
    let mut count = 0usize;
    let live = args.live.options();
    let scan_options = ScanOptions::default();
    let result = runtime.block_on(async {
        let run = kspm_api::watch::run(
            &live,
            &scan_options,
            std::time::Duration::from_millis(args.settle_ms),
            |u| {
                count += 1;
                // Built whole, then printed safe for a terminal (names and images are input).
                use std::fmt::Write as _;
                let mut out = String::new();
                let latency_ms = u.latency.as_secs_f64() * 1000.0;
                if json {
                    let line = |event: &str, body: serde_json::Value| serde_json::json!({"event": event, "data": body}).to_string();
                    for f in &u.added_findings {
                        let _ = writeln!(out, "{}", line("finding_added", serde_json::to_value(f).unwrap_or_default()));
                    }
                    for f in &u.resolved_findings {
                        let _ = writeln!(out, "{}", line("finding_resolved", serde_json::to_value(f).unwrap_or_default()));
                    }
                    for p in &u.added_paths {
                        let _ = writeln!(out, "{}", line("path_added", serde_json::to_value(p).unwrap_or_default()));
                    }
                    for p in &u.resolved_paths {
                        let _ = writeln!(out, "{}", line("path_resolved", serde_json::to_value(p).unwrap_or_default()));
                    }
                    let _ = writeln!(out, "{}", line("update", serde_json::json!({"initial": u.initial, "changes": u.changes, "objects": u.objects, "namespaces_reevaluated": u.namespaces, "cluster_part_reevaluated": u.cluster_part, "rbac_reevaluated": u.cluster_part, "latency_ms": latency_ms})));
                } else if u.initial {
                    let _ = writeln!(out, "watching: {} objects, {} findings, {} attack paths", u.objects, u.added_findings.len(), u.added_paths.len());
                } else {
                    for f in &u.added_findings {
                        let _ = writeln!(out, "+ {:<8} {}  {}  {}", f.severity, f.check, f.resource, f.message);
                    }
                    for f in &u.resolved_findings {
                        let _ = writeln!(out, "- {:<8} {}  {}  {}", f.severity, f.check, f.resource, f.message);
                    }
                    for p in &u.added_paths {
                        let _ = writeln!(out, "+ path   {}", render::paths::one_line(p));
                    }
                    for p in &u.resolved_paths {
                        let _ = writeln!(out, "- path   {}", render::paths::one_line(p));
                    }
                    let scope = match u.namespaces {
                        Some(n) if u.cluster_part => format!("the cluster part and {n} namespace(s)"),
                        Some(n) => format!("{n} namespace(s)"),
                        None => "the whole cluster".to_string(),
                    };
                    let _ = writeln!(out, "  ({} change(s), {scope} re-evaluated in {latency_ms:.0} ms)", u.changes);
                }
                print_text(&out, json);
                let _ = std::io::stdout().lock().flush();
                args.max_updates.is_none_or(|m| count < m)
            },
        );
        tokio::select! {
            r = run => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    });
    result.map_err(anyhow::Error::msg)?;
    Ok(ExitCode::SUCCESS)
}
