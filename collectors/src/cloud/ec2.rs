//! The two EC2 reads discovery makes — `DescribeRegions` and `DescribeLaunchTemplateVersions` —
//! as EC2 Query API requests (`Action=…&Version=2016-11-15`, XML answers), signed by AWS's own
//! SigV4 signer (`aws-sigv4`) with the account's credentials, and sent to the endpoint the AWS
//! SDKs would use: `endpoint_url` given in code, else `AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL`
//! or the profile's `endpoint_url` (through the loaded [`SdkConfig`]), else the regional
//! endpoint of the region's partition, FIPS and dual-stack as configured. The XML is read with
//! AWS's own decoder (`aws-smithy-xml`).
//!
//! Why not `aws-sdk-ec2`: it is 1.24 million lines of generated code, one client for every EC2
//! operation; compiling it was 642 s of a 19-minute fresh release build, and 9.5 GB of memory,
//! for two reads (docs/benchmarks.md, "Build"). Everything else AWS is read through the SDKs.

use super::eks_token::Credentials;
use aws_config::SdkConfig;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder, XmlDecodeError};
use aws_types::service_config::ServiceConfigKey;
use serde_json::{json, Map, Value};
use std::time::{Duration, SystemTime};

/// The EC2 API version every request names.
const API_VERSION: &str = "2016-11-15";

/// Attempts per request: throttling, 5xx answers and transport errors are retried.
const ATTEMPTS: u32 = 3;

/// An EC2 client for one region and one set of credentials.
pub struct Ec2 {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    identity: Identity,
}

impl Ec2 {
    /// A client for `config`'s region and endpoint settings, signing with `credentials`.
    pub fn new(config: &SdkConfig, credentials: &Credentials) -> Result<Ec2, String> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_string())
            .ok_or("no AWS region configured")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Ec2 {
            http,
            endpoint: endpoint(config, &region),
            region,
            identity: credentials.identity(),
        })
    }

    /// The regions enabled for the account (`ec2:DescribeRegions`).
    pub async fn describe_regions(&self) -> Result<Vec<String>, String> {
        let body = self.call("DescribeRegions", &[]).await?;
        regions_of(&body).map_err(|e| format!("unreadable DescribeRegions answer: {e}"))
    }

    /// One launch template version, as `aws ec2 describe-launch-template-versions
    /// --launch-template-id ID --versions V` prints it (the fields kspm reads).
    pub async fn describe_launch_template_versions(
        &self,
        id: &str,
        version: &str,
    ) -> Result<Value, String> {
        let body = self
            .call(
                "DescribeLaunchTemplateVersions",
                &[
                    ("LaunchTemplateId", id),
                    ("LaunchTemplateVersion.1", version),
                ],
            )
            .await?;
        launch_template_versions_of(&body)
            .map_err(|e| format!("unreadable DescribeLaunchTemplateVersions answer: {e}"))
    }

    /// POSTs one signed Query request; the answer's body, or the EC2 error as "Code: Message".
    async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<String, String> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action);
            form.append_pair("Version", API_VERSION);
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let url = format!("{}/", self.endpoint.trim_end_matches('/'));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let content_type = "application/x-www-form-urlencoded; charset=utf-8";
            let signable = SignableRequest::new(
                "POST",
                &url,
                [("content-type", content_type)].into_iter(),
                SignableBody::Bytes(body.as_bytes()),
            )
            .map_err(|e| format!("{url}: {e}"))?;
            let params = v4::SigningParams::builder()
                .identity(&self.identity)
                .region(&self.region)
                .name("ec2")
                .time(SystemTime::now())
                .settings(SigningSettings::default())
                .build()
                .map_err(|e| format!("cannot sign the request: {e}"))?
                .into();
            let (instructions, _) = sign(signable, &params)
                .map_err(|e| format!("cannot sign the request: {e}"))?
                .into_parts();
            let mut req = self
                .http
                .post(&url)
                .header("content-type", content_type)
                .body(body.clone());
            for (name, value) in instructions.headers() {
                req = req.header(name, value);
            }
            let (status, text) = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    (status, r.text().await.unwrap_or_default())
                }
                Err(_) if attempt < ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(format!("{url}: {e}")),
            };
            if (200..300).contains(&status) {
                return Ok(text);
            }
            let (code, message) = error_of(&text);
            if attempt < ATTEMPTS && (status >= 500 || is_throttling(&code)) {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            return Err(if code.is_empty() {
                format!("HTTP {status}: {message}")
            } else {
                format!("{code}: {message} (HTTP {status})")
            });
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 * u64::from(attempt))
}

/// EC2's throttling error codes (the SDKs' standard retry strategy retries these).
fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "RequestLimitExceeded" | "Throttling" | "ThrottlingException" | "RequestThrottled"
    )
}

/// The endpoint the SDK would use for EC2: a code-given `endpoint_url` wins; otherwise the
/// service-specific setting (`AWS_ENDPOINT_URL_EC2`, the profile's `services` section), then the
/// global one, then the regional endpoint.
fn endpoint(config: &SdkConfig, region: &str) -> String {
    let configured = if config.get_origin("endpoint_url").is_client_config() {
        config.endpoint_url().map(str::to_string)
    } else {
        ServiceConfigKey::builder()
            .service_id("EC2")
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .ok()
            .and_then(|key| config.service_config().and_then(|c| c.load_config(key)))
            .or_else(|| config.endpoint_url().map(str::to_string))
    };
    configured.unwrap_or_else(|| {
        regional_endpoint(
            region,
            config.use_fips().unwrap_or(false),
            config.use_dual_stack().unwrap_or(false),
        )
    })
}

/// `https://ec2[-fips].REGION.DNS-SUFFIX` of the region's partition (dual-stack: `api.aws` and
/// its partition equivalents).
fn regional_endpoint(region: &str, fips: bool, dual_stack: bool) -> String {
    let (suffix, dual_suffix) = if region.starts_with("cn-") {
        ("amazonaws.com.cn", "api.amazonwebservices.com.cn")
    } else if region.starts_with("us-isob-") {
        ("sc2s.sgov.gov", "sc2s.sgov.gov")
    } else if region.starts_with("us-iso-") {
        ("c2s.ic.gov", "c2s.ic.gov")
    } else if region.starts_with("eu-isoe-") {
        ("cloud.adc-e.uk", "cloud.adc-e.uk")
    } else if region.starts_with("us-isof-") {
        ("csp.hci.ic.gov", "csp.hci.ic.gov")
    } else {
        ("amazonaws.com", "api.aws")
    };
    let host = if fips { "ec2-fips" } else { "ec2" };
    let suffix = if dual_stack { dual_suffix } else { suffix };
    format!("https://{host}.{region}.{suffix}")
}

/// The `Code` and `Message` of an EC2 error answer
/// (`<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>…`); for an
/// answer that is not one, no code and the start of the body.
fn error_of(body: &str) -> (String, String) {
    let parsed = (|| -> Result<(String, String), XmlDecodeError> {
        let mut doc = Document::new(body);
        let mut root = doc.root_element()?;
        let (mut code, mut message) = (String::new(), String::new());
        while let Some(mut errors) = root.next_tag() {
            if !errors.start_el().matches("Errors") {
                continue;
            }
            while let Some(mut error) = errors.next_tag() {
                while let Some(mut field) = error.next_tag() {
                    if field.start_el().matches("Code") {
                        code = text(&mut field)?;
                    } else if field.start_el().matches("Message") {
                        message = text(&mut field)?;
                    }
                }
            }
        }
        Ok((code, message))
    })();
    match parsed {
        Ok((code, message)) if !code.is_empty() => (code, message),
        _ => (String::new(), body.chars().take(200).collect()),
    }
}

/// A 200 answer that is not the operation's response (a proxy's page, say) is an error, not an
/// empty result.
fn expect_root(root: &ScopedDecoder, name: &str) -> Result<(), XmlDecodeError> {
    if root.start_el().matches(name) {
        Ok(())
    } else {
        Err(XmlDecodeError::custom(format!(
            "expected <{name}>, got <{}>",
            root.start_el().local()
        )))
    }
}

fn text(el: &mut ScopedDecoder) -> Result<String, XmlDecodeError> {
    Ok(try_data(el)?.into_owned())
}

/// `<DescribeRegionsResponse><regionInfo><item><regionName>…` → the region names.
fn regions_of(body: &str) -> Result<Vec<String>, XmlDecodeError> {
    let mut doc = Document::new(body);
    let mut root = doc.root_element()?;
    expect_root(&root, "DescribeRegionsResponse")?;
    let mut out = Vec::new();
    while let Some(mut info) = root.next_tag() {
        if !info.start_el().matches("regionInfo") {
            continue;
        }
        while let Some(mut item) = info.next_tag() {
            while let Some(mut field) = item.next_tag() {
                if field.start_el().matches("regionName") {
                    out.push(text(&mut field)?);
                }
            }
        }
    }
    Ok(out)
}

/// `<DescribeLaunchTemplateVersionsResponse><launchTemplateVersionSet><item>…` → the AWS CLI's
/// JSON (`{"LaunchTemplateVersions": [{"LaunchTemplateId", "LaunchTemplateName",
/// "VersionNumber", "DefaultVersion", "LaunchTemplateData": {"MetadataOptions": {"HttpTokens",
/// "HttpPutResponseHopLimit", "HttpEndpoint"}}}]}`), the fields the node checks read.
fn launch_template_versions_of(body: &str) -> Result<Value, XmlDecodeError> {
    let mut doc = Document::new(body);
    let mut root = doc.root_element()?;
    expect_root(&root, "DescribeLaunchTemplateVersionsResponse")?;
    let mut list = Vec::new();
    while let Some(mut set) = root.next_tag() {
        if !set.start_el().matches("launchTemplateVersionSet") {
            continue;
        }
        while let Some(mut item) = set.next_tag() {
            let mut m = Map::new();
            let mut data = Map::new();
            while let Some(mut field) = item.next_tag() {
                let name = field.start_el().local().to_string();
                match name.as_str() {
                    "launchTemplateId" => {
                        m.insert("LaunchTemplateId".into(), text(&mut field)?.into());
                    }
                    "launchTemplateName" => {
                        m.insert("LaunchTemplateName".into(), text(&mut field)?.into());
                    }
                    "versionNumber" => {
                        m.insert("VersionNumber".into(), integer(&mut field)?);
                    }
                    "defaultVersion" => {
                        m.insert("DefaultVersion".into(), boolean(&mut field)?);
                    }
                    "launchTemplateData" => {
                        while let Some(mut part) = field.next_tag() {
                            if part.start_el().matches("metadataOptions") {
                                data.insert(
                                    "MetadataOptions".into(),
                                    Value::Object(metadata_options(&mut part)?),
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
            m.insert("LaunchTemplateData".into(), Value::Object(data));
            list.push(Value::Object(m));
        }
    }
    Ok(json!({ "LaunchTemplateVersions": list }))
}

fn metadata_options(el: &mut ScopedDecoder) -> Result<Map<String, Value>, XmlDecodeError> {
    let mut mo = Map::new();
    while let Some(mut field) = el.next_tag() {
        let name = field.start_el().local().to_string();
        match name.as_str() {
            "httpTokens" => {
                mo.insert("HttpTokens".into(), text(&mut field)?.into());
            }
            "httpPutResponseHopLimit" => {
                mo.insert("HttpPutResponseHopLimit".into(), integer(&mut field)?);
            }
            "httpEndpoint" => {
                mo.insert("HttpEndpoint".into(), text(&mut field)?.into());
            }
            _ => {}
        }
    }
    Ok(mo)
}

fn integer(el: &mut ScopedDecoder) -> Result<Value, XmlDecodeError> {
    let s = text(el)?;
    s.trim()
        .parse::<i64>()
        .map(Value::from)
        .map_err(|_| XmlDecodeError::custom(format!("not an integer: {s:?}")))
}

fn boolean(el: &mut ScopedDecoder) -> Result<Value, XmlDecodeError> {
    match text(el)?.trim() {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        other => Err(XmlDecodeError::custom(format!("not a boolean: {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Answers as EC2 sends them (the shapes of the EC2 API Reference's examples).
    const REGIONS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
   <regionInfo>
      <item>
         <regionName>us-east-1</regionName>
         <regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint>
         <optInStatus>opt-in-not-required</optInStatus>
      </item>
      <item>
         <regionName>eu-west-1</regionName>
         <regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint>
      </item>
   </regionInfo>
</DescribeRegionsResponse>"#;

    #[test]
    fn regions_are_read_from_region_info() {
        assert_eq!(
            regions_of(REGIONS).expect("parses"),
            vec!["us-east-1", "eu-west-1"]
        );
        let none = r#"<DescribeRegionsResponse><requestId>x</requestId><regionInfo/></DescribeRegionsResponse>"#;
        assert!(regions_of(none).expect("parses").is_empty());
        assert!(regions_of("").is_err());
        let page = "<html><body>proxy login</body></html>";
        assert!(regions_of(page).is_err(), "not an empty region list");
        assert!(launch_template_versions_of(page).is_err());
    }

    #[test]
    fn launch_template_versions_become_the_cli_json() {
        let xml = r#"<DescribeLaunchTemplateVersionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>65cadec1-b364-4354-8ca8-4176dEXAMPLE</requestId>
    <launchTemplateVersionSet>
        <item>
            <createTime>2017-10-31T11:38:52.000Z</createTime>
            <createdBy>arn:aws:iam::123456789012:root</createdBy>
            <defaultVersion>true</defaultVersion>
            <launchTemplateData>
                <imageId>ami-8c1be5f6</imageId>
                <instanceType>t2.micro</instanceType>
                <metadataOptions>
                    <state>applied</state>
                    <httpTokens>optional</httpTokens>
                    <httpPutResponseHopLimit>2</httpPutResponseHopLimit>
                    <httpEndpoint>enabled</httpEndpoint>
                </metadataOptions>
                <userData>IyEvYmluL2Jhc2g=</userData>
            </launchTemplateData>
            <launchTemplateId>lt-0a20c965061f64abc</launchTemplateId>
            <launchTemplateName>ng-general</launchTemplateName>
            <versionNumber>1</versionNumber>
        </item>
        <item>
            <defaultVersion>false</defaultVersion>
            <launchTemplateData><imageId>ami-1</imageId></launchTemplateData>
            <launchTemplateId>lt-2</launchTemplateId>
            <versionNumber>7</versionNumber>
        </item>
    </launchTemplateVersionSet>
</DescribeLaunchTemplateVersionsResponse>"#;
        let v = launch_template_versions_of(xml).expect("parses");
        assert_eq!(
            v,
            json!({"LaunchTemplateVersions": [
                {"LaunchTemplateId": "lt-0a20c965061f64abc", "LaunchTemplateName": "ng-general",
                 "VersionNumber": 1, "DefaultVersion": true,
                 "LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "optional",
                    "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"}}},
                {"LaunchTemplateId": "lt-2", "VersionNumber": 7, "DefaultVersion": false,
                 "LaunchTemplateData": {}}
            ]})
        );
        // User data is never copied (it can hold secrets).
        assert!(!v.to_string().contains("IyEv"));
        let bad = "<DescribeLaunchTemplateVersionsResponse><launchTemplateVersionSet><item><versionNumber>one</versionNumber></item></launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>";
        assert!(launch_template_versions_of(bad).is_err());
    }

    #[test]
    fn errors_name_code_and_message() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>ab12</RequestID></Response>"#;
        assert_eq!(
            error_of(xml),
            (
                "UnauthorizedOperation".to_string(),
                "You are not authorized to perform this operation.".to_string()
            )
        );
        assert_eq!(
            error_of("<html>bad gateway</html>"),
            (String::new(), "<html>bad gateway</html>".to_string())
        );
        assert!(is_throttling("RequestLimitExceeded"));
        assert!(!is_throttling("UnauthorizedOperation"));
    }

    #[test]
    fn regional_endpoints_follow_the_partition() {
        assert_eq!(
            regional_endpoint("eu-west-1", false, false),
            "https://ec2.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            regional_endpoint("cn-north-1", false, false),
            "https://ec2.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            regional_endpoint("us-gov-west-1", true, false),
            "https://ec2-fips.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            regional_endpoint("us-east-1", false, true),
            "https://ec2.us-east-1.api.aws"
        );
        assert_eq!(
            regional_endpoint("us-iso-east-1", false, false),
            "https://ec2.us-iso-east-1.c2s.ic.gov"
        );
    }

    #[tokio::test]
    async fn endpoint_url_given_in_code_wins() {
        let config = SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url("http://127.0.0.1:5000")
            .build();
        assert_eq!(endpoint(&config, "eu-west-1"), "http://127.0.0.1:5000");
        let plain = SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        assert_eq!(
            endpoint(&plain, "eu-west-1"),
            "https://ec2.eu-west-1.amazonaws.com"
        );
    }

    /// The request is signed for `ec2` in the client's region, carries the session token, and
    /// never puts a credential in the URL or the body.
    #[tokio::test]
    async fn requests_are_signed_query_posts() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then the body by its content-length.
            loop {
                let n = s.read(&mut chunk).expect("read");
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len || n == 0 {
                        break;
                    }
                }
            }
            let answer = REGIONS;
            write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .expect("write");
            String::from_utf8_lossy(&buf).to_string()
        });
        let config = SdkConfig::builder()
            .region(aws_config::Region::new("eu-central-1"))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .build();
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "SECRET-CANARY".into(),
            session_token: Some("TOKEN-CANARY".into()),
        };
        let ec2 = Ec2::new(&config, &creds).expect("client");
        assert_eq!(
            ec2.describe_regions().await.expect("answer"),
            vec!["us-east-1", "eu-west-1"]
        );
        let req = server.join().expect("server");
        let lower = req.to_ascii_lowercase();
        assert!(req.starts_with("POST / HTTP/1.1"), "{req}");
        assert!(lower.contains("authorization: aws4-hmac-sha256 credential=akidexample/"));
        assert!(lower.contains("/eu-central-1/ec2/aws4_request"), "{req}");
        assert!(lower.contains("x-amz-security-token: token-canary"));
        assert!(
            req.ends_with("Action=DescribeRegions&Version=2016-11-15"),
            "{req}"
        );
        assert!(!req.contains("SECRET-CANARY"));
    }
}
