"""What Identa learns about a customer at login: place, device, demographics, sentiment."""
