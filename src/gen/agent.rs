//! User agents: which client a call comes from (`Ua`) and the `userAgent` string it logs.

use super::aws::{action_of, service_of, S3, SSM};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ua {
    CliMac,
    CliKali,
    PyRequests,
    Boto3Kali,
    Terraform,
    Console,
    Browser,
    App,
    SsmAgent,
    LambdaPy,
    CiOld,
    GithubActions,
    Vendor,
    Service(&'static str),
}

pub(super) fn ua_string(ua: Ua, src: &str, name: &str) -> String {
    match ua {
        Ua::CliMac => format!(
            "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#{}",
            cli_command(src, name)
        ),
        Ua::CliKali => format!(
            "aws-cli/2.15.0 md/awscrt#0.19.17 ua/2.0 os/linux#6.5.0-kali3-amd64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{}",
            cli_command(src, name)
        ),
        Ua::PyRequests => "python-requests/2.31.0".to_string(),
        Ua::Boto3Kali => "Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#6.5.0-kali3-amd64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.11".to_string(),
        Ua::Terraform => format!(
            "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64 api/{}#1.0",
            service_of(src)
        ),
        Ua::Console => {
            if src == S3 {
                "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.660 Linux/5.10.210-178.855.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402 vendor/Oracle_Corporation cfg/retry-mode/standard]".to_string()
            } else {
                "AWS Internal".to_string()
            }
        }
        Ua::Browser => "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36".to_string(),
        Ua::App => "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#6.1.77-99.164.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.34".to_string(),
        Ua::SsmAgent => {
            if src == SSM {
                "aws-sdk-go/1.44.302 (go1.20.12; linux; amd64) amazon-ssm-agent/3.2.2016.0".to_string()
            } else {
                ua_string(Ua::App, src, name)
            }
        }
        Ua::LambdaPy => "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209-220.812.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42".to_string(),
        Ua::CiOld => format!(
            "aws-cli/2.13.25 Python/3.11.5 Linux/5.15.0-1057-azure exe/x86_64.ubuntu.22 prompt/off command/{}",
            cli_command(src, name)
        ),
        Ua::GithubActions => {
            if name == "AssumeRoleWithWebIdentity" {
                "aws-sdk-nodejs/2.1540.0 linux/v20.11.1 configure-aws-credentials-for-github-actions promise".to_string()
            } else {
                format!(
                    "aws-cli/2.15.17 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1015-azure md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#{}",
                    cli_command(src, name)
                )
            }
        }
        Ua::Vendor => "Boto3/1.28.57 Python/3.9.18 Linux/4.14.336-257.562.amzn2.x86_64 exec-env/AWS_ECS_FARGATE Botocore/1.31.57".to_string(),
        Ua::Service(s) => s.to_string(),
    }
}

/// aws-cli v2 `md/command#…` value for an event.
fn cli_command(src: &str, name: &str) -> String {
    let svc = match service_of(src) {
        "monitoring" => "cloudwatch",
        "s3" => {
            if name == "ListBuckets" {
                return "s3.ls".to_string();
            }
            if name == "GetObject" {
                return "s3.cp".to_string();
            }
            "s3api"
        }
        s => s,
    };
    let mut cmd = String::with_capacity(svc.len() + name.len() + 4);
    cmd.push_str(svc);
    cmd.push('.');
    for (i, ch) in action_of(name).chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                cmd.push('-');
            }
            cmd.push(ch.to_ascii_lowercase());
        } else {
            cmd.push(ch);
        }
    }
    cmd
}
