import pytest
from django.contrib.auth import get_user_model

from dtsen.accounts.services import role_assign
from tests.registry.factories import VILLAGE_A, VILLAGE_B


@pytest.fixture
def admin_actor(db):
    return get_user_model().objects.create_superuser("pusat", "pusat@example.id", "rahasia-sekali-123")


@pytest.fixture
def operator_a(db):
    user = get_user_model().objects.create_user("operator.a", password="rahasia-sekali-123")
    role_assign(user=user, role="operator_desa", region_code=VILLAGE_A)
    return user


@pytest.fixture
def operator_b(db):
    user = get_user_model().objects.create_user("operator.b", password="rahasia-sekali-123")
    role_assign(user=user, role="operator_desa", region_code=VILLAGE_B)
    return user
