"""Blue Dart: reverse pickups through the Blue Dart API gateway (waybill, pickup, tracking, push)."""
