"""Reference lists shared by the data model, the simulator and the features.

Values here are the codes the data model accepts; descriptions carry English and Chinese.
"""

from __future__ import annotations

# Districts and counties of a city like Taizhou (台州), with administrative division codes.
COUNTIES: dict[str, dict] = {
    "jiaojiang": {"zh": "椒江区", "division": "331002", "mountain": False, "urban": True},
    "huangyan": {"zh": "黄岩区", "division": "331003", "mountain": False, "urban": True},
    "luqiao": {"zh": "路桥区", "division": "331004", "mountain": False, "urban": True},
    "linhai": {"zh": "临海市", "division": "331082", "mountain": False, "urban": False},
    "wenling": {"zh": "温岭市", "division": "331081", "mountain": False, "urban": False},
    "yuhuan": {"zh": "玉环市", "division": "331083", "mountain": False, "urban": False},
    "tiantai": {"zh": "天台县", "division": "331023", "mountain": True, "urban": False},
    "xianju": {"zh": "仙居县", "division": "331024", "mountain": True, "urban": False},
    "sanmen": {"zh": "三门县", "division": "331022", "mountain": True, "urban": False},
}

# GB/T 4754-2017 sections (门类) that SMEs of the city mostly belong to.
INDUSTRIES: dict[str, dict] = {
    "A": {"en": "Agriculture, forestry, animal husbandry and fishery", "zh": "农、林、牧、渔业", "standard": "agriculture"},
    "C": {"en": "Manufacturing", "zh": "制造业", "standard": "industry"},
    "E": {"en": "Construction", "zh": "建筑业", "standard": "construction"},
    "F": {"en": "Wholesale and retail trade", "zh": "批发和零售业", "standard": "retail"},
    "G": {"en": "Transport, storage and postal services", "zh": "交通运输、仓储和邮政业", "standard": "transport"},
    "H": {"en": "Accommodation and catering", "zh": "住宿和餐饮业", "standard": "hospitality"},
    "I": {"en": "Information transmission, software and IT services", "zh": "信息传输、软件和信息技术服务业", "standard": "software"},
    "L": {"en": "Leasing and business services", "zh": "租赁和商务服务业", "standard": "business_services"},
    "M": {"en": "Scientific research and technical services", "zh": "科学研究和技术服务业", "standard": "other"},
    "O": {"en": "Resident services, repair and other services", "zh": "居民服务、修理和其他服务业", "standard": "other"},
}

LEGAL_FORMS = {
    "company": "公司/企业",
    "individual_business": "个体工商户",
    "farmer_cooperative": "农民专业合作社",
}
# second character of the unified social credit code (registration authority 9, market supervision)
LEGAL_FORM_USCC_TYPE = {"company": "1", "individual_business": "2", "farmer_cooperative": "3"}

SIZE_CLASSES = {"micro": "微型", "small": "小型", "medium": "中型"}

# Size thresholds of the national SME standard (工信部联企业〔2011〕300号) by industry group:
# (staff lower bound, revenue lower bound in CNY) for "small" and "medium". An enterprise is
# medium when it reaches both medium bounds... see classify_size for the exact rule.
# [K] cells not verified against the primary text; kept as data so a bank can change them.
SIZE_STANDARD: dict[str, dict[str, tuple[float, float]]] = {
    "industry": {"small": (20, 3_000_000), "medium": (300, 20_000_000)},
    "construction": {"small": (0, 3_000_000), "medium": (0, 60_000_000)},
    # wholesale and retail have separate thresholds (批发业: 5 staff and 10m / 20 staff and 50m; 零售业:
    # 10 staff and 1m / 50 staff and 5m); section F uses the retail one unless the firm is a wholesaler
    "wholesale": {"small": (5, 10_000_000), "medium": (20, 50_000_000)},
    "retail": {"small": (10, 1_000_000), "medium": (50, 5_000_000)},
    "transport": {"small": (20, 2_000_000), "medium": (300, 30_000_000)},
    "hospitality": {"small": (10, 1_000_000), "medium": (100, 20_000_000)},
    "software": {"small": (10, 500_000), "medium": (100, 10_000_000)},
    "business_services": {"small": (10, 1_000_000), "medium": (100, 80_000_000)},
    "agriculture": {"small": (0, 500_000), "medium": (0, 5_000_000)},
    "other": {"small": (10, 0), "medium": (100, 0)},  # 其他未列明行业: staff only
}

PRODUCTS = {
    "working_capital": "流动资金贷款",
    "fixed_asset": "固定资产贷款",
    "owner_operating": "小微企业主经营性贷款",
    "sole_prop_operating": "个体工商户经营性贷款",
    "farmer_operating": "农户经营性贷款",
}
COLLATERAL_TYPES = {
    "real_estate": "不动产抵押",
    "movable_property": "动产抵押",
    "ip_pledge": "知识产权质押",
    "receivables": "应收账款质押",
    "guarantee": "保证担保",
    "unsecured": "信用",
}
GUARANTOR_TYPES = {
    "none": "无",
    "policy_guarantor": "政府性融资担保机构",
    "commercial_guarantor": "商业性融资担保机构",
    "related_enterprise": "关联企业保证",
    "individual": "自然人保证",
}
RISK_CLASSES = ["正常", "关注", "次级", "可疑", "损失"]
NONPERFORMING_CLASSES = {"次级", "可疑", "损失"}
TAX_GRADES = ["A", "B", "M", "C", "D"]
ENV_GRADES = {"green": "环保诚信", "blue": "环保良好", "yellow": "环保警示", "red": "环保不良", "black": "严重失信"}
RATINGS_CORE = ["AAA", "AA", "A", "BBB", "BB", "B"]

JUDICIAL_EVENT_TYPES = {
    "lawsuit_defendant": "作为被告的诉讼",
    "enforcement": "被执行",
    "dishonest_debtor_listed": "列入失信被执行人名单",
    "dishonest_debtor_removed": "移出失信被执行人名单",
}
ADMIN_EVENT_TYPES = {
    "market_penalty": "市场监管行政处罚",
    "abnormal_operation_in": "列入经营异常名录",
    "abnormal_operation_out": "移出经营异常名录",
    "environmental_penalty": "环保行政处罚",
}
LOAN_EVENT_TYPES = {
    "funds_misuse_detected": "发现挪用贷款资金",
    "restructuring": "贷款重组",
    "renewal_application": "续贷申请",
    # a new guarantee contract signed for the loan's renewal (R14 of the renewal review)
    "guarantee_contract_signed": "签订新担保合同",
}
IP_TYPES = {
    "invention_patent": "发明专利",
    "utility_patent": "实用新型专利",
    "design_patent": "外观设计专利",
    "trademark": "注册商标",
}
PERSON_ROLES = {
    "legal_representative": "法定代表人",
    "actual_controller": "实际控制人",
    "shareholder": "主要股东",
}

# loan events of the delinquency cycle (simulator v2)
LOAN_EVENT_TYPES.update({
    "forbearance": "延期还本付息",
    "write_off": "核销或处置",
})


def classify_risk_5(days_past_due):
    """5-category class implied by days past due (any overdue → 关注, >90 次级, >270 可疑, >360 损失)."""
    import numpy as np

    dpd = np.asarray(days_past_due)
    out = np.full(dpd.shape, "正常", dtype=object)
    out[dpd > 0] = "关注"
    out[dpd > 90] = "次级"
    out[dpd > 270] = "可疑"
    out[dpd > 360] = "损失"
    return out
