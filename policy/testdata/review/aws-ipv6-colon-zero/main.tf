# IPv6 anywhere spelled ::0/0.
resource "aws_vpc_security_group_ingress_rule" "ssh" {
  security_group_id = "sg-0123456789abcdef0"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv6         = "::0/0"
}

provider "aws" {
  region = "us-east-1"

  default_tags {
    tags = {
      "managed-by"  = "terraform"
      "environment" = "review"
    }
  }
}
