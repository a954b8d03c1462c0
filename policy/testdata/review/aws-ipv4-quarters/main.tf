# The whole IPv4 internet as four /2 rules of one security group.
resource "aws_security_group" "bastion" {
  name        = "bastion"
  description = "Review case"
  vpc_id      = "vpc-0123456789abcdef0"
}

resource "aws_vpc_security_group_ingress_rule" "ssh_0" {
  security_group_id = aws_security_group.bastion.id
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "0.0.0.0/2"
}

resource "aws_vpc_security_group_ingress_rule" "ssh_1" {
  security_group_id = aws_security_group.bastion.id
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "64.0.0.0/2"
}

resource "aws_vpc_security_group_ingress_rule" "ssh_2" {
  security_group_id = aws_security_group.bastion.id
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "128.0.0.0/2"
}

resource "aws_vpc_security_group_ingress_rule" "ssh_3" {
  security_group_id = aws_security_group.bastion.id
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "192.0.0.0/2"
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
