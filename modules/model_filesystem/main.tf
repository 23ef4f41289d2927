data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first two names are used (slice below): a zone AWS adds later gets a later letter and never enters the set; pass availability_zones to pin them.
  count = length(var.availability_zones) == 0 ? 1 : 0

  state = "available"
}

locals {
  azs = length(var.availability_zones) > 0 ? var.availability_zones : slice(data.aws_availability_zones.available[0].names, 0, 2)
}

################################################################################
# Network: private subnets only; S3 through a gateway endpoint, no NAT
################################################################################

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:Flow logs cost money per GB; the VPC has no internet path (no IGW, no NAT), only NFS to EFS and the S3 gateway endpoint.
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = var.name })
}

# Take over the VPC's default security group and leave it without rules, so nothing uses it by accident.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_subnet" "private" {
  count = length(local.azs)

  vpc_id                  = aws_vpc.this.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, var.subnet_newbits, count.index)
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-private" })
}

resource "aws_route_table_association" "private" {
  count = length(aws_subnet.private)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

data "aws_iam_policy_document" "s3_endpoint" {
  count = length(var.s3_endpoint_bucket_arns) > 0 ? 1 : 0

  statement {
    sid       = "ReadModelBuckets"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = concat(var.s3_endpoint_bucket_arns, [for arn in var.s3_endpoint_bucket_arns : "${arn}/*"])

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]
  policy            = try(data.aws_iam_policy_document.s3_endpoint[0].json, null)

  tags = merge(var.tags, { Name = "${var.name}-s3" })
}

################################################################################
# Security groups: NFS only from the function's group
################################################################################

resource "aws_security_group" "function" {
  #checkov:skip=CKV2_AWS_5:Attached by the consumer: the functions of the inference_api module run with this group.
  name        = "${var.name}-function"
  description = "Lambda functions that mount ${var.name}'s file system"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-function" })
}

resource "aws_security_group" "efs" {
  name        = "${var.name}-efs"
  description = "Mount targets of ${var.name}'s file system"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-efs" })
}

resource "aws_vpc_security_group_ingress_rule" "efs_nfs_from_function" {
  security_group_id            = aws_security_group.efs.id
  description                  = "NFS from the functions"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.function.id

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "function_nfs_to_efs" {
  security_group_id            = aws_security_group.function.id
  description                  = "NFS to the mount targets"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.efs.id

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "function_https_to_s3" {
  security_group_id = aws_security_group.function.id
  description       = "HTTPS to S3 through the gateway endpoint (the seeder reads the model bucket)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id

  tags = var.tags
}

################################################################################
# File system
################################################################################

resource "aws_efs_file_system" "this" {
  creation_token   = var.name
  encrypted        = true
  kms_key_id       = var.kms_key_arn
  performance_mode = "generalPurpose"
  throughput_mode  = var.throughput_mode

  provisioned_throughput_in_mibps = var.throughput_mode == "provisioned" ? var.provisioned_throughput_in_mibps : null

  lifecycle_policy {
    transition_to_ia = var.transition_to_ia
  }

  tags = merge(var.tags, { Name = var.name })
}

data "aws_iam_policy_document" "file_system" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_efs_file_system_policy" "this" {
  file_system_id = aws_efs_file_system.this.id
  policy         = data.aws_iam_policy_document.file_system.json
}

resource "aws_efs_mount_target" "this" {
  count = length(aws_subnet.private)

  file_system_id  = aws_efs_file_system.this.id
  subnet_id       = aws_subnet.private[count.index].id
  security_groups = [aws_security_group.efs.id]
}

resource "aws_efs_access_point" "this" {
  file_system_id = aws_efs_file_system.this.id

  root_directory {
    path = var.root_directory_path

    creation_info {
      owner_uid   = var.owner_uid
      owner_gid   = var.owner_gid
      permissions = var.root_directory_permissions
    }
  }

  posix_user {
    uid = var.posix_uid
    gid = var.posix_gid
  }

  tags = merge(var.tags, { Name = var.name })
}
