# The whole IPv4 internet as two /1 halves in one ingress block.
resource "aws_security_group" "bastion" {
  name        = "bastion"
  description = "Review case"
  vpc_id      = "vpc-0123456789abcdef0"

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/1", "128.0.0.0/1"]
  }
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
