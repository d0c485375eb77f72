"""Wire models, one module per service, used by the service and by its client in the gateway."""
