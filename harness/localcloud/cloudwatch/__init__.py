"""CloudWatch for the local data plane: Lambda logs, EMF and AWS/Lambda metrics, shipped to moto."""
