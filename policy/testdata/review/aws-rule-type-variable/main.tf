# The rule's type comes from a variable with no default: ingress or egress is unknown.
variable "rule_type" {
  description = "ingress or egress"
  type        = string
}

resource "aws_security_group_rule" "ssh" {
  type              = var.rule_type
  security_group_id = "sg-0123456789abcdef0"
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["0.0.0.0/0"]
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
