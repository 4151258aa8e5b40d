"""The NATS edge shared by every service: connection, publishing, consuming, provisioning."""
