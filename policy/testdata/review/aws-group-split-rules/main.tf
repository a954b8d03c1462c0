# A /8 of public addresses as two /9 rules, each narrow enough alone: only the group is open.
resource "aws_security_group" "bastion" {
  name        = "bastion"
  description = "Review case"
  vpc_id      = "vpc-0123456789abcdef0"
}

resource "aws_security_group_rule" "ssh_low" {
  type              = "ingress"
  security_group_id = aws_security_group.bastion.id
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["1.0.0.0/9"]
}

resource "aws_security_group_rule" "ssh_high" {
  type              = "ingress"
  security_group_id = aws_security_group.bastion.id
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["1.128.0.0/9"]
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
